"""The same network in PyTorch, trained two ways.

* ``plain``: what a first tutorial writes -- a ``TensorDataset`` in host memory, a ``DataLoader``
  with batch 32 and ``shuffle=True``, and each batch copied to the device before its step.
* ``fast``: the whole training set kept on the device as one tensor, shuffled by a random
  permutation made on the device, and sliced into larger batches (256 by default, with the
  learning rate scaled by 4), so a step launches a handful of kernels and copies nothing. An
  epoch is 235 steps instead of 1,875 -- per-step overhead (Python, the DataLoader's collation,
  kernel launches, the optimizer's per-tensor loop) is most of an MLP's time at batch 32, on a
  CPU and even more on a GPU. Optionally the step is ``torch.compile``d.

This module is the only one of the example that imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.mnist.deps import need

torch: Any = need("torch")
nn: Any = torch.nn


def pick_device(choice: str) -> Any:
    """``cuda`` when asked or (``auto``) when one is usable, else ``cpu``."""
    if choice == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if choice == "cuda":
        raise GpuwiseError(Message("mnist.error.no_cuda"))
    return torch.device("cpu")


def bf16_supported(device: Any) -> bool:
    """Whether bfloat16 matrix products run natively: CUDA cards from Ampere (sm_80) on, CPUs
    with AVX512-BF16 or AMX. Elsewhere bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def build_model(n_in: int, hidden: int, n_out: int, dropout: float, seed: int) -> Any:
    """Flatten -> Linear(n_in, 128) -> ReLU -> Dropout -> Linear(128, 10); Keras' initialisation
    (glorot-uniform weights, zero biases). The softmax is inside the loss (``cross_entropy``)."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, n_out),
    )
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


@dataclass
class TorchRun:
    device: str
    loop: str
    batch: int
    lr: float
    compiled: bool
    bf16: bool
    epoch_seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_accuracy: float = 0.0


def _sync(device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _as_tensor(images: np.ndarray, pixel_max: float, device: Any) -> Any:
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return x.reshape(len(images), -1).float().div_(pixel_max)


def _accuracy(model: Any, x: Any, y: Any, chunk: int = 8192) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            right += int((model(x[i : i + chunk]).argmax(dim=1) == y[i : i + chunk]).sum())
    model.train()
    return right / len(x)


def train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    pixel_max: float,
    *,
    loop: str,
    epochs: int,
    batch: int,
    lr: float,
    seed: int,
    device: Any,
    hidden: int = 128,
    dropout: float = 0.2,
    eps: float = 1e-7,
    optimizer_name: str = "adam",
    compile_step: bool = False,
    bf16: bool = False,
    threads: int | None = None,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> TorchRun:
    """Train with Adam (or SGD); per-epoch wall time (device synchronised), test accuracy."""
    if threads:
        torch.set_num_threads(threads)
    n_in = int(np.prod(x_train.shape[1:]))
    model = build_model(n_in, hidden, 10, dropout, seed).to(device)
    # the fast loop takes the fused kernel (one kernel for all parameters, CPU and CUDA)
    fused = True if loop == "fast" else None
    if optimizer_name == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, fused=fused)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=eps, fused=fused)
    run = TorchRun(str(device), loop, batch, lr, compile_step, bf16)
    x_test_t = _as_tensor(x_test, pixel_max, device)
    y_test_t = torch.from_numpy(y_test.astype(np.int64)).to(device)
    step = _step_fn(model, optimizer, compile_step, bf16, device)
    epoch_fn = _plain_epoch if loop == "plain" else _fast_epoch
    data = _prepare(loop, x_train, y_train, pixel_max, device, batch, seed, bf16)
    generator = torch.Generator(device=device).manual_seed(seed)
    for epoch in range(epochs):
        _sync(device)
        start = time.perf_counter()
        total = epoch_fn(step, data, batch, device, generator)
        _sync(device)
        seconds = time.perf_counter() - start
        run.epoch_seconds.append(seconds)
        run.train_loss.append(total / len(x_train))
        if on_epoch:
            on_epoch(epoch + 1, seconds, total / len(x_train))
    run.test_accuracy = _accuracy(model, x_test_t, y_test_t)
    return run


def _step_fn(
    model: Any, optimizer: Any, compile_step: bool, bf16: bool, device: Any
) -> Callable[[Any, Any], Any]:
    """One training step: forward (under bf16 autocast when asked: the matrix products in
    bfloat16, weights, gradients and Adam's states kept fp32), loss, backward, update."""
    forward = torch.compile(model) if compile_step else model

    def step(xb: Any, yb: Any) -> Any:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = nn.functional.cross_entropy(forward(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def _prepare(
    loop: str,
    x: np.ndarray,
    y: np.ndarray,
    pixel_max: float,
    device: Any,
    batch: int,
    seed: int,
    bf16: bool,
) -> Any:
    y_t = torch.from_numpy(y.astype(np.int64))
    if loop == "plain":
        x_t = _as_tensor(x, pixel_max, torch.device("cpu"))
        dataset = torch.utils.data.TensorDataset(x_t, y_t)
        shuffle_gen = torch.Generator().manual_seed(seed)
        return torch.utils.data.DataLoader(
            dataset, batch_size=batch, shuffle=True, generator=shuffle_gen
        )
    # fast: the images stay uint8 on the device (a quarter of float32's bytes to gather per
    # batch) and are scaled per batch, straight to bfloat16 under autocast
    x_dev = torch.from_numpy(np.ascontiguousarray(x)).to(device).reshape(len(x), -1)
    dtype = torch.bfloat16 if bf16 else torch.float32
    return x_dev, y_t.to(device), dtype, 1.0 / pixel_max


def _plain_epoch(step: Any, loader: Any, batch: int, device: Any, generator: Any) -> float:
    total = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        total += float(step(xb, yb)) * len(yb)
    return total


def _fast_epoch(step: Any, data: Any, batch: int, device: Any, generator: Any) -> float:
    x, y, dtype, scale = data
    order = torch.randperm(len(x), device=device, generator=generator)
    total = torch.zeros((), device=device)
    for i in range(0, len(x), batch):
        idx = order[i : i + batch]
        xb = x[idx].to(dtype).mul_(scale)
        total += step(xb, y[idx]) * len(idx)  # stays on the device: no sync per step
    return float(total)
