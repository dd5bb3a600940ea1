// Quickstart (foundation stage): proves the stack end to end on this machine — the native backend
// loads, a device is resolved, and a small convolutional network trains on real tensors.
// The paper's experiment (pretrained only / naive / replay / mixing) replaces this body once the
// engine and evaluation exist.
using System.Diagnostics;
using TorchSharp;
using UnsupervisedFinetuning;
using static TorchSharp.torch;

var device = TorchDevices.Resolve(args.Length > 0 ? args[0] : TorchDevices.Auto);
Console.WriteLine($"TorchSharp on {device.type}, libtorch {torch.__version__}, {torch.get_num_threads()} threads");

random.manual_seed(0);
var net = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size: 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, kernel_size: 3, padding: 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Linear(16, 2));
net.to(device);
var optimizer = optim.SGD(net.parameters(), learningRate: 0.1, momentum: 0.9);

// Task: is the bright 4x4 square in the left or the right half of a noisy 16x16 image?
(Tensor Images, Tensor Labels) MakeBatch(int n)
{
    var labels = randint(0, 2, [n], dtype: int64);
    var images = randn(n, 1, 16, 16) * 0.3f;
    var rows = randint(0, 12, [n]).data<long>().ToArray();
    var cols = randint(0, 4, [n]).data<long>().ToArray();
    var side = labels.data<long>().ToArray();
    for (int i = 0; i < n; i++)
    {
        long c = cols[i] + (side[i] * 8);
        images[i, 0, TensorIndex.Slice(rows[i], rows[i] + 4), TensorIndex.Slice(c, c + 4)] += 2f;
    }

    return (images.to(device), labels.to(device));
}

var clock = Stopwatch.StartNew();
for (int step = 1; step <= 200; step++)
{
    using var scope = NewDisposeScope();
    var (x, y) = MakeBatch(64);
    var loss = nn.functional.cross_entropy(net.forward(x), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step % 40 == 0)
    {
        Console.WriteLine($"step {step,3}  loss {loss.item<float>():F4}");
    }
}

using (var scope = NewDisposeScope())
using (no_grad())
{
    net.eval();
    var (x, y) = MakeBatch(1000);
    double accuracy = net.forward(x).argmax(1).eq(y).to(float32).mean().item<float>();
    Console.WriteLine($"held-out accuracy {accuracy:P1} after {clock.Elapsed.TotalSeconds:F1} s");
}
