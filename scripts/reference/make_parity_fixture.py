"""Writes tests/fixtures/parity.safetensors: what PyTorch computes for the notes' LeNet on 16 real digits.

The Rust crate's parity tests load this file, put the same weights into its LeNet, run the same batch
and compare: forward (log_softmax output and mean NLL loss), backward (every parameter's gradient) and
the optimiser (one plain SGD step; two SGD steps with momentum 0.9, as torch.optim.SGD does them).

Regenerate (deterministic: same torch version -> same bytes; across versions, differences stay at
float32 rounding level):

    python3 -m venv .venv-torch && .venv-torch/bin/pip install -r scripts/reference/requirements.txt
    .venv-torch/bin/python scripts/reference/make_parity_fixture.py            # --data-dir DIR, --out FILE

What is fixed:
- weights: `torch.manual_seed(0)` then `Net()` (PyTorch's default init, kaiming-uniform(a=sqrt(5)) for
  weights, uniform(+-1/sqrt(fan_in)) for biases);
- batch: the first 16 images of the MNIST sample's test split (t10k-*), normalised (x/255-0.1307)/0.3081;
- the model is in eval mode, so Dropout2d is the identity and nothing random happens after init;
- one thread, deterministic algorithms.

Tensors in the file (all float32 unless said; names of weights exactly as Net().state_dict()):
    conv1.weight [10,1,5,5]  conv1.bias [10]  conv2.weight [20,10,5,5]  conv2.bias [20]
    fc1.weight [50,320]      fc1.bias [50]    fc2.weight [10,50]        fc2.bias [10]
    input     [16,1,28,28]   normalised images
    input_u8  [16,28,28] u8  the same images as stored in the IDX file (to check a normaliser)
    target    [16] u32       labels 0-9
    logits    [16,10]        the model's output, i.e. log_softmax(fc2(...)) (log-probabilities)
    loss      []             F.nll_loss(logits, target), mean over the batch (a 0-dim scalar)
    grad.<param>             d loss / d <param>, for each of the 8 parameters, same shape as the param
    after_sgd.<param>        weights after one step of SGD(lr=0.01): w - 0.01 * grad
    after_momentum2.<param>  weights after two steps of SGD(lr=0.01, momentum=0.9) on the same batch,
                             gradient recomputed before the second step. torch.optim.SGD's rule
                             (dampening 0, no nesterov): step 1: v = g1; step 2: v = 0.9*v + g2; w -= lr*v
The file's metadata has one entry, "about", naming the torch version, the seed and the image indices.
"""

from __future__ import annotations

import argparse
import sys
import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

from lenet import REPO_ROOT, Net, find_sample_dir, load_split, normalise

BATCH = 16
INIT_SEED = 0
LR = 0.01
MOMENTUM = 0.9


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A contiguous float32 copy, detached from autograd."""
    return np.ascontiguousarray(tensor.detach().cpu().numpy())


def weights_of(model: Net, prefix: str = "") -> dict[str, np.ndarray]:
    return {prefix + name: to_numpy(value) for name, value in model.state_dict().items()}


def grads_of(model: Net) -> dict[str, np.ndarray]:
    return {"grad." + name: to_numpy(p.grad) for name, p in model.named_parameters()}


def sgd_steps(model: Net, x: torch.Tensor, y: torch.Tensor, steps: int, momentum: float) -> Net:
    """A copy of `model` after `steps` steps of torch.optim.SGD on the batch (x, y)."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=momentum)
    for _ in range(steps):
        optimizer.zero_grad()
        F.nll_loss(model(x), y).backward()
        optimizer.step()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with the MNIST sample's IDX files (default: found)")
    parser.add_argument(
        "--out",
        default=str(REPO_ROOT / "tests" / "fixtures" / "parity.safetensors"),
        help="where to write the fixture",
    )
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    data_dir = Path(args.data_dir) if args.data_dir else find_sample_dir()
    images, labels = load_split(data_dir, "test")
    images_u8 = np.ascontiguousarray(images[:BATCH])  # [16,28,28] u8
    x = normalise(images_u8)  # [16,1,28,28] f32
    y = torch.from_numpy(labels[:BATCH].astype(np.int64))  # [16] i64, what nll_loss wants

    torch.manual_seed(INIT_SEED)
    model = Net()
    model.eval()  # Dropout2d off: the fixture has no randomness after init

    tensors: dict[str, np.ndarray] = weights_of(model)
    tensors["input"] = to_numpy(x)
    tensors["input_u8"] = images_u8
    tensors["target"] = labels[:BATCH].astype(np.uint32)

    model.zero_grad()
    logits = model(x)  # [16,10] log-probabilities
    loss = F.nll_loss(logits, y)  # [] mean over the batch
    loss.backward()
    tensors["logits"] = to_numpy(logits)
    tensors["loss"] = to_numpy(loss).reshape(())
    tensors.update(grads_of(model))
    model.zero_grad()

    tensors.update(weights_of(sgd_steps(model, x, y, steps=1, momentum=0.0), "after_sgd."))
    tensors.update(weights_of(sgd_steps(model, x, y, steps=2, momentum=MOMENTUM), "after_momentum2."))

    # One metadata entry: safetensors writes its metadata map in a random key order, so several
    # entries would make every regeneration differ in the header bytes.
    metadata = {
        "about": (
            f"scripts/reference/make_parity_fixture.py; torch {torch.__version__}; "
            f"Net() after torch.manual_seed({INIT_SEED}), eval mode (Dropout2d off); "
            f"input: MNIST sample t10k-images-idx3-ubyte.gz indices 0..{BATCH - 1}, "
            "(x/255 - 0.1307) / 0.3081; "
            f"after_sgd: 1 step SGD lr={LR}; after_momentum2: 2 steps SGD lr={LR} momentum={MOMENTUM}"
        )
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=metadata)
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(tensors)} tensors), loss {loss.item():.6f}")


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as error:  # missing or malformed data: say what, no traceback
        sys.exit(f"error: {error}")
