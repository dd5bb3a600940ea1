using System.Collections;

namespace UnsupervisedFinetuning.Cli;

/// <summary>What a value of a .NET type is, in words a user of the command line or of the settings file reads.</summary>
internal static class ValueKind
{
    /// <summary>"a whole number", "a number", "true or false", "text", "one of …", "a list of numbers", "an object {…}".</summary>
    public static string Of(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
        {
            var naming = FinetuneSettings.Json.PropertyNamingPolicy!;
            string[] names = Enum.GetNames(type).Select(n => $"\"{naming.ConvertName(n)}\"").ToArray();
            return $"one of {string.Join(", ", names[..^1])} or {names[^1]}";
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64 => "a whole number",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.Boolean => "true or false",
            TypeCode.String or TypeCode.Char => "text",
            _ when type.IsArray => $"a list of {Plural(Of(type.GetElementType()!))}",
            _ when type.IsAssignableTo(typeof(IEnumerable)) => "a list",
            _ => "an object { … }",
        };
    }

    private static string Plural(string kind) => kind switch
    {
        "a whole number" => "whole numbers",
        "a number" => "numbers",
        "true or false" => "true or false values",
        "text" => "texts",
        _ => "values",
    };
}
