"""Trains the notes' LeNet with the notes' `fit` loop in PyTorch: the baseline lenet-tutor's Rust training must match.

    .venv-torch/bin/python scripts/reference/train_lenet.py                        # MNIST sample, plain SGD
    .venv-torch/bin/python scripts/reference/train_lenet.py --momentum 0.9
    .venv-torch/bin/python scripts/reference/train_lenet.py --dataset fashion-mnist --threads 2

Each epoch prints the notes' two lines (training, then validation), e.g.
    training loss is  0.45 and training accuracy is 6742/8000     84.28
followed by the epoch's seconds. One difference from the notes: `running_correct` is kept as a Python
int (`.item()` on each batch's count) where the notes add up tensors. The printed line is the same
either way: PyTorch formats a 0-dim tensor in an f-string through `.item()`, so the notes' code prints
`6742` too, not `tensor(6742)`. The validation phase runs under torch.no_grad(), which the notes name
as the replacement of `volatile=True`.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F
import torch.optim as optim

from lenet import Net, loader, resolve_data_dir, tensors


def fit(epoch, model, data_loader, optimizer, phase="training"):
    """The notes' fit: one pass over `data_loader`, training or validating; returns (loss, accuracy)."""
    if phase == "training":
        model.train()
    if phase == "validation":
        model.eval()
    running_loss = 0.0
    running_correct = 0
    with torch.set_grad_enabled(phase == "training"):
        for batch_idx, (data, target) in enumerate(data_loader):
            if phase == "training":
                optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            running_loss += F.nll_loss(output, target, reduction="sum").item()
            preds = output.data.max(dim=1, keepdim=True)[1]
            running_correct += preds.eq(target.data.view_as(preds)).cpu().sum().item()
            if phase == "training":
                loss.backward()
                optimizer.step()
    loss = running_loss / len(data_loader.dataset)
    accuracy = 100.0 * running_correct / len(data_loader.dataset)
    print(
        f"{phase} loss is {loss:{5}.{2}} and {phase} accuracy is "
        f"{running_correct}/{len(data_loader.dataset)}{accuracy:{10}.{4}}",
        flush=True,
    )
    return loss, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist-sample", choices=["mnist-sample", "fashion-mnist"])
    parser.add_argument("--data-dir", help="folder with the four IDX files (overrides --dataset's place)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # initial weights and Dropout2d masks

    data_dir = resolve_data_dir(args.dataset, args.data_dir)
    train_loader = loader(tensors(data_dir, "train", args.dataset), args.batch_size, shuffle=True, seed=args.seed)
    test_loader = loader(tensors(data_dir, "test", args.dataset), args.test_batch_size, shuffle=False, seed=args.seed)
    print(
        f"data {data_dir}: {len(train_loader.dataset)} train / {len(test_loader.dataset)} test; "
        f"torch {torch.__version__}, {args.threads} thread(s), lr {args.lr}, momentum {args.momentum}, "
        f"batch {args.batch_size}, seed {args.seed}",
        flush=True,
    )

    model = Net()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    seconds = []
    val_accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        fit(epoch, model, train_loader, optimizer, phase="training")
        train_seconds = time.perf_counter() - start
        _, val_accuracy = fit(epoch, model, test_loader, optimizer, phase="validation")
        seconds.append(time.perf_counter() - start)
        print(f"epoch {epoch}: {seconds[-1]:.2f} s ({train_seconds:.2f} s training)", flush=True)
    mean = sum(seconds) / len(seconds) if seconds else 0.0
    print(f"final validation accuracy {val_accuracy:.2f}%, {mean:.2f} s per epoch", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as error:  # missing or malformed data: say what, no traceback
        sys.exit(f"error: {error}")
