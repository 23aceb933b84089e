"""PyTorch's side of examples/ops_bench.rs: the same LeNet convolutions and training step, timed the same way.

    .venv-torch/bin/python scripts/bench/ops_bench_torch.py [--threads 1]

Each line: median wall time per call and CPU time per call (process CPU time over about a second of
calls), for forward + backward of `loss = sum(y * r)` (the convolutions) and of the notes' LeNet
without dropout (`nll_loss(log_softmax(...))`), as in the Rust benchmark.
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def measure(f):
    f()
    f()
    times, start, cpu_start = [], time.perf_counter(), time.process_time()
    while len(times) < 5 or (time.perf_counter() - start < 0.6 and len(times) < 500):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    cpu = (time.process_time() - cpu_start) / len(times)
    return statistics.median(times) * 1e3, cpu * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for batch in (32, 64):
        for name, x_shape, w_shape, needs_input_grad in (
            ("conv1", (batch, 1, 28, 28), (10, 1, 5, 5), False),
            ("conv2", (batch, 10, 12, 12), (20, 10, 5, 5), True),
        ):
            x = torch.randn(x_shape, requires_grad=needs_input_grad)
            w = (torch.randn(w_shape) * 0.2).requires_grad_()
            b = (torch.randn(w_shape[0]) * 0.2).requires_grad_()
            r = torch.randn(F.conv2d(x, w, b).shape)
            wall, cpu = measure(lambda: F.conv2d(x, w, b))
            print(f"threads={args.threads} batch={batch:>2}  {name + ' forward':<26} pytorch wall {wall:7.2f} ms  cpu {cpu:7.2f} ms")
            wall, cpu = measure(lambda: (F.conv2d(x, w, b) * r).sum().backward())
            print(f"threads={args.threads} batch={batch:>2}  {name + ' forward+backward':<26} pytorch wall {wall:7.2f} ms  cpu {cpu:7.2f} ms")
        shapes = [(10, 1, 5, 5), (10,), (20, 10, 5, 5), (20,), (50, 320), (50,), (10, 50), (10,)]
        p = [(torch.randn(s) * 0.1).requires_grad_() for s in shapes]
        x = torch.randn(batch, 1, 28, 28)
        labels = torch.randint(0, 10, (batch,))

        def step():
            h = F.relu(F.max_pool2d(F.conv2d(x, p[0], p[1]), 2))
            h = F.relu(F.max_pool2d(F.conv2d(h, p[2], p[3]), 2)).view(-1, 320)
            h = F.relu(F.linear(h, p[4], p[5]))
            F.nll_loss(F.log_softmax(F.linear(h, p[6], p[7]), dim=1), labels).backward()

        wall, cpu = measure(step)
        print(f"threads={args.threads} batch={batch:>2}  {'LeNet step fwd+bwd':<26} pytorch wall {wall:7.2f} ms  cpu {cpu:7.2f} ms")


if __name__ == "__main__":
    main()
