namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// The names users write for the <see cref="MonitorCriterion"/> values — <c>uft --criterion</c>, the samples' command
/// lines, reports — kept in one place: rankme, uniformity, alignment, source-cka, source-neighbours, validation-knn.
/// </summary>
public static class MonitorCriteria
{
    /// <summary>Every criterion by its name, in this order.</summary>
    public static IReadOnlyDictionary<string, MonitorCriterion> ByName { get; } = new Dictionary<string, MonitorCriterion>(StringComparer.Ordinal)
    {
        ["rankme"] = MonitorCriterion.RankMe,
        ["uniformity"] = MonitorCriterion.Uniformity,
        ["alignment"] = MonitorCriterion.Alignment,
        ["source-cka"] = MonitorCriterion.SourceCka,
        ["source-neighbours"] = MonitorCriterion.SourceNeighbourhoods,
        ["validation-knn"] = MonitorCriterion.ValidationKnn,
    };

    /// <summary>The name of <paramref name="criterion"/> ("source-cka" for <see cref="MonitorCriterion.SourceCka"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined criterion.</exception>
    public static string NameOf(MonitorCriterion criterion) =>
        ByName.FirstOrDefault(c => c.Value == criterion).Key ?? throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Not a defined MonitorCriterion.");
}
