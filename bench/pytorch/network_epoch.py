"""The same ReLU network and epoch as `eigenpro bench network`, in PyTorch on the CPU, for a side-by-side timing.

NTK parameterisation as in EigenProNet's ReluNetwork: h_i = W_i a_i / sqrt(n_i), a_{i+1} = sqrt(2) relu(h_i), no bias,
W ~ N(0, 1); MSE (1/b) sum 1/2 ||f - y||^2; plain SGD. 5 000 pixel-like rows (uniform in [0, 1]) of 3 072 features,
10 outputs, batch 128, width 4 096, depth 2 by default. Prints one JSON line: seconds per epoch (best of --repeats
after a warm-up epoch), threads and the torch version.

    python3 bench/pytorch/network_epoch.py --threads 2
"""
import argparse, json, math, time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=5000)
parser.add_argument("--dim", type=int, default=3072)
parser.add_argument("--width", type=int, default=4096)
parser.add_argument("--depth", type=int, default=2)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--outputs", type=int, default=10)
parser.add_argument("--lr", type=float, default=0.5)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=2)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(1)

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        sizes = [args.dim] + [args.width] * args.depth + [args.outputs]
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)])

    def forward(self, x):
        a = x
        for i, w in enumerate(self.weights):
            a = a @ w.t() / math.sqrt(w.shape[1])
            if i < len(self.weights) - 1:
                a = math.sqrt(2.0) * torch.relu(a)
        return a

x = torch.rand(args.rows, args.dim)
y = torch.nn.functional.one_hot(torch.arange(args.rows) % args.outputs, args.outputs).float()
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=args.lr)

def epoch():
    order = torch.randperm(args.rows)
    for start in range(0, args.rows, args.batch_size):
        idx = order[start:start + args.batch_size]
        opt.zero_grad(set_to_none=True)
        f = net(x[idx])
        loss = 0.5 * ((f - y[idx]) ** 2).sum() / idx.shape[0]
        loss.backward()
        opt.step()

epoch()  # warm-up
best = float("inf")
for _ in range(args.repeats):
    t = time.perf_counter()
    epoch()
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds_per_epoch": best, "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "shape": f"{args.rows}x{args.dim} w={args.width} D={args.depth} b={args.batch_size}"}))
