"""The notes' LeNet in PyTorch, with an IDX reader and a loader: the reference the Rust crate is checked against.

This module is shared by the scripts next to it (make_parity_fixture.py, train_lenet.py) and by
scripts/bench/torch_lenet.py. It needs only torch and numpy (no torchvision): the IDX files are read
with gzip + numpy, the same way the Rust crate's `data` module reads them.

PyTorch is optional for lenet-tutor: nothing in the crate, the book or CI needs it. It is used only to
regenerate tests/fixtures/parity.safetensors and to measure baselines. See README.md beside this file.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

# The normalisation of PyTorch's examples/mnist (the notes do not give one): MNIST's mean and
# standard deviation of x/255.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# (mean, std) of x/255 per data set, as lenet-tutor's `DatasetName::normalization`: the MNIST sample
# uses MNIST's, Fashion-MNIST its own (a different data set has a different mean and spread).
NORMALIZATION = {
    "mnist-sample": (MNIST_MEAN, MNIST_STD),
    "mnist": (MNIST_MEAN, MNIST_STD),
    "fashion-mnist": (0.2860, 0.3530),
}

# scripts/reference/lenet.py -> the repository root is two folders up.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Where the bundled 8,000/2,000 MNIST sample may be, first match wins.
SAMPLE_CANDIDATES = [
    REPO_ROOT / "data" / "mnist-sample",
    REPO_ROOT / "shared" / "data" / "mnist-sample",
    REPO_ROOT.parent / "shared" / "data" / "mnist-sample",
]

# Debian's package `dataset-fashion-mnist` installs the four IDX files here.
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")

# The four files of a data set in IDX format (the same names for MNIST, the sample and Fashion-MNIST).
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions.
IDX_MAGIC_LABELS = 0x00000801
IDX_MAGIC_IMAGES = 0x00000803


class Net(nn.Module):
    """The notes' model, verbatim: two conv layers, two fully connected layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)  # [B,1,28,28] -> [B,10,24,24]
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)  # [B,10,12,12] -> [B,20,8,8]
        self.conv2_drop = nn.Dropout2d()  # zeroes whole channels with p=0.5 while training
        self.fc1 = nn.Linear(320, 50)  # 20*4*4 = 320
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))  # [B,10,12,12]
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))  # [B,20,4,4]
        x = x.view(-1, 320)  # [B,320]
        x = F.relu(self.fc1(x))  # [B,50]
        x = self.fc2(x)  # [B,10]
        return F.log_softmax(x, dim=1)  # log-probabilities, what nll_loss expects


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads one IDX file (gzip-compressed or plain) into a uint8 array shaped as its header says.

    Raises ValueError with the reason when the file is not an unsigned-byte IDX file or is cut short.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic bytes
        raw = gzip.decompress(raw)
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(
            f"{path}: magic number {magic:#010x} is not an unsigned-byte IDX file "
            "(expected 0x00000801 for labels or 0x00000803 for images)"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: header says {ndim} dimensions but the file ends at byte {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - header != count:
        raise ValueError(
            f"{path}: header shape {shape} needs {count} bytes of data, the file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_sample_dir() -> Path:
    """The folder of the bundled MNIST sample, or FileNotFoundError naming the places looked at."""
    for candidate in SAMPLE_CANDIDATES:
        if (candidate / SPLIT_FILES["train"][0]).exists():
            return candidate
    looked = ", ".join(str(c) for c in SAMPLE_CANDIDATES)
    raise FileNotFoundError(f"MNIST sample not found (looked in {looked}); pass --data-dir DIR")


def resolve_data_dir(dataset: str, data_dir: str | None) -> Path:
    """The folder holding the four IDX files: --data-dir if given, else the named data set's usual place."""
    if data_dir is not None:
        return Path(data_dir)
    if dataset == "mnist-sample":
        return find_sample_dir()
    if dataset == "fashion-mnist":
        if not (FASHION_MNIST_DEBIAN / SPLIT_FILES["train"][0]).exists():
            raise FileNotFoundError(
                f"Fashion-MNIST not found in {FASHION_MNIST_DEBIAN}; "
                "run `apt-get install dataset-fashion-mnist` or pass --data-dir DIR"
            )
        return FASHION_MNIST_DEBIAN
    raise ValueError(f"unknown data set {dataset!r}; use mnist-sample or fashion-mnist")


def load_split(data_dir: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images [N,28,28] uint8 and labels [N] uint8 of `split` ("train" or "test") from `data_dir`."""
    images_name, labels_name = SPLIT_FILES[split]
    images = read_idx(Path(data_dir) / images_name)
    labels = read_idx(Path(data_dir) / labels_name)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{data_dir}: {split} images {images.shape} and labels {labels.shape} do not match "
            "(expected [N,rows,cols] and [N])"
        )
    if labels.max(initial=0) > 9:
        raise ValueError(f"{data_dir}: {split} labels go up to {labels.max()}, expected 0-9")
    return images, labels


def normalise(images: np.ndarray, dataset: str = "mnist") -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,1,28,28], (x/255 - mean) / std with the data set's constants
    (MNIST: 0.1307, 0.3081 as in the notes)."""
    mean, std = NORMALIZATION[dataset]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0))
    x = (x - mean) / std
    return x.unsqueeze(1)


def tensors(data_dir: str | os.PathLike, split: str, dataset: str = "mnist") -> TensorDataset:
    """A split as a TensorDataset of (normalised images [N,1,28,28] f32, labels [N] i64); `dataset`
    picks the normalisation (see NORMALIZATION)."""
    images, labels = load_split(data_dir, split)
    return TensorDataset(normalise(images, dataset), torch.from_numpy(labels.astype(np.int64)))


def loader(dataset: TensorDataset, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    """A DataLoader like the notes' train_loader / test_loader, shuffled by its own seeded generator."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
