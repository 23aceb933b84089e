"""Benchmark reference: the notes' LeNet in PyTorch, timed the way the Rust benchmark times lenet-tutor.

Times `--epochs` training epochs over the full training set (SGD, batch `--batch-size`, shuffled) and
then one inference pass over the test set (batch `--test-batch-size`, eval mode, no gradients).
The data are decoded and normalised into tensors before any clock starts: only the loop is timed
(slicing the batch, forward, loss, backward, step / forward, argmax). `seconds` is wall-clock time;
`cpu_seconds` is the process's CPU time over the same loop (all threads added up), which says more
than `seconds` on a machine that other jobs share.

Prints one JSON object per line, e.g.
    {"impl": "pytorch", "phase": "train", "batch": 64, "threads": 1, "seconds": 21.3, "images": 60000, ...}

    .venv-torch/bin/python scripts/bench/torch_lenet.py --batch-size 64 --threads 1
    .venv-torch/bin/python scripts/bench/torch_lenet.py --dataset mnist-sample --epochs 2

The data set defaults to Fashion-MNIST from Debian's `dataset-fashion-mnist` package when it is
installed, else the bundled MNIST sample. PyTorch is optional for lenet-tutor (see
scripts/reference/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from lenet import FASHION_MNIST_DEBIAN, SPLIT_FILES, Net, resolve_data_dir, tensors  # noqa: E402


def train_epoch(model, optimizer, images, labels, batch_size, generator):
    """One epoch of SGD over (images, labels) in a seeded random order; returns (seconds, cpu, correct)."""
    model.train()
    correct = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    order = torch.randperm(images.shape[0], generator=generator)
    for first in range(0, images.shape[0], batch_size):
        index = order[first : first + batch_size]
        data, target = images[index], labels[index]  # [B,1,28,28] f32, [B] i64
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        correct += (output.argmax(dim=1) == target).sum().item()
    return time.perf_counter() - start, time.process_time() - cpu_start, correct


@torch.no_grad()
def evaluate(model, images, labels, batch_size):
    """One inference pass over (images, labels) in order; returns (seconds, cpu, correct)."""
    model.eval()
    correct = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for first in range(0, images.shape[0], batch_size):
        output = model(images[first : first + batch_size])
        correct += (output.argmax(dim=1) == labels[first : first + batch_size]).sum().item()
    return time.perf_counter() - start, time.process_time() - cpu_start, correct


def main() -> None:
    default_dataset = (
        "fashion-mnist" if (FASHION_MNIST_DEBIAN / SPLIT_FILES["train"][0]).exists() else "mnist-sample"
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=default_dataset, choices=["mnist-sample", "fashion-mnist"])
    parser.add_argument("--data-dir", help="folder with the four IDX files (overrides --dataset's place)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs to time, one line each")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    data_dir = resolve_data_dir(args.dataset, args.data_dir)
    train_images, train_labels = tensors(data_dir, "train", args.dataset).tensors
    test_images, test_labels = tensors(data_dir, "test", args.dataset).tensors

    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    common = {"impl": "pytorch", "dataset": args.dataset, "threads": args.threads, "torch": torch.__version__}
    # Which SIMD kernels PyTorch picked on this CPU ("AVX512", "AVX2", ...) and whether its oneDNN
    # (mkldnn) convolutions are there: the benchmark table says both.
    common.update(cpu_capability=torch.backends.cpu.get_cpu_capability(), onednn=torch.backends.mkldnn.is_available())

    for epoch in range(1, args.epochs + 1):
        seconds, cpu_seconds, correct = train_epoch(
            model, optimizer, train_images, train_labels, args.batch_size, generator
        )
        n = train_images.shape[0]
        line = {**common, "phase": "train", "epoch": epoch, "batch": args.batch_size}
        line.update(seconds=round(seconds, 4), cpu_seconds=round(cpu_seconds, 4), images=n)
        line.update(accuracy=round(100.0 * correct / n, 2))
        print(json.dumps(line), flush=True)

    seconds, cpu_seconds, correct = evaluate(model, test_images, test_labels, args.test_batch_size)
    n = test_images.shape[0]
    line = {**common, "phase": "test", "batch": args.test_batch_size}
    line.update(seconds=round(seconds, 4), cpu_seconds=round(cpu_seconds, 4), images=n)
    line.update(accuracy=round(100.0 * correct / n, 2))
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as error:  # missing or malformed data: say what, no traceback
        sys.exit(f"error: {error}")
