"""The classic MNIST network in NumPy, from scratch.

    Flatten -> Dense 128 ReLU -> Dropout 0.2 -> Dense 10 softmax

Each dense layer computes y = f(Wx + b); over a batch of B rows, X (B x n) @ W (n x m) + b. The
loss is sparse categorical cross-entropy, L = -(1/B) sum_i log p_i[y_i]. Backpropagation is the
chain rule written out layer by layer (``backward``), and the weights move by plain gradient
descent, dW = -lr dL/dW (:class:`SGD`), or by Adam (:class:`Adam`, Kingma & Ba 2015, Algorithm 1,
with Keras' epsilon 1e-7). Weights start as Keras' ``glorot_uniform``, biases as zeros.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Params = dict[str, np.ndarray]


def init_params(
    n_in: int, hidden: int, n_out: int, rng: np.random.Generator, dtype: type = np.float32
) -> Params:
    """Glorot-uniform weights, U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); zero biases."""

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        a = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)

    return {
        "W1": glorot(n_in, hidden),
        "b1": np.zeros(hidden, dtype),
        "W2": glorot(hidden, n_out),
        "b2": np.zeros(n_out, dtype),
    }


def dropout_mask(
    shape: tuple[int, ...], rate: float, rng: np.random.Generator, dtype: type = np.float32
) -> np.ndarray:
    """Inverted dropout: each unit kept with probability 1 - rate and scaled by 1 / (1 - rate),
    so the expected activation is unchanged and nothing is rescaled at test time."""
    keep = rng.random(shape) >= rate
    return (keep / (1.0 - rate)).astype(dtype)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))  # minus the row max: same result, no overflow
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


@dataclass
class Cache:
    """What the backward pass needs from the forward pass."""

    x: np.ndarray  # B x n, the flattened input
    z1: np.ndarray  # B x 128, W1 x + b1 before the ReLU
    h: np.ndarray  # B x 128, after ReLU and dropout
    mask: np.ndarray | None  # the dropout mask (None: no dropout)
    p: np.ndarray  # B x 10, softmax probabilities


def forward(params: Params, x: np.ndarray, mask: np.ndarray | None = None) -> Cache:
    """The forward pass over a batch; ``mask`` is the dropout mask (None at test time)."""
    x = x.reshape(len(x), -1)  # Flatten
    z1 = x @ params["W1"] + params["b1"]  # Dense 128: W1 x + b1
    a1 = np.maximum(z1, 0)  # ReLU
    h = a1 * mask if mask is not None else a1  # Dropout
    z2 = h @ params["W2"] + params["b2"]  # Dense 10: W2 h + b2
    return Cache(x, z1, h, mask, softmax(z2))


def loss(p: np.ndarray, y: np.ndarray) -> float:
    """Sparse categorical cross-entropy: the mean of -log p[true class]."""
    picked = p[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.maximum(picked, np.finfo(p.dtype).tiny))))


def backward(params: Params, cache: Cache, y: np.ndarray) -> Params:
    """dL/dparam for every parameter, by the chain rule from the loss back to W1."""
    batch = len(y)
    dz2 = cache.p.copy()  # softmax + cross-entropy: dL/dz2 = (p - onehot(y)) / B
    dz2[np.arange(batch), y] -= 1
    dz2 /= batch
    grads = {"W2": cache.h.T @ dz2, "b2": dz2.sum(axis=0)}  # z2 = h W2 + b2
    dh = dz2 @ params["W2"].T
    da1 = dh * cache.mask if cache.mask is not None else dh  # through the dropout
    dz1 = da1 * (cache.z1 > 0)  # through the ReLU: its slope is 1 where z1 > 0, else 0
    grads["W1"] = cache.x.T @ dz1  # z1 = x W1 + b1
    grads["b1"] = dz1.sum(axis=0)
    return grads


class SGD:
    """Plain gradient descent: W <- W - lr * dL/dW."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, params: Params, grads: Params) -> None:
        for k, g in grads.items():
            params[k] -= self.lr * g


class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1). With t the step count from 1:

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
    m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t)
    W <- W - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(
        self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7
    ) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m: Params = {}
        self.v: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        for k, g in grads.items():
            m = self.m.setdefault(k, np.zeros_like(g))
            v = self.v.setdefault(k, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            params[k] -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(g.dtype)


def accuracy(params: Params, x: np.ndarray, y: np.ndarray, chunk: int = 4096) -> float:
    """The share of ``x`` classified as ``y`` (dropout off)."""
    right = 0
    for i in range(0, len(x), chunk):
        p = forward(params, x[i : i + chunk]).p
        right += int((p.argmax(axis=1) == y[i : i + chunk]).sum())
    return right / len(x)


@dataclass
class History:
    epoch_seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)


def fit(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    optimizer: SGD | Adam,
    epochs: int,
    batch: int,
    dropout: float,
    rng: np.random.Generator,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> History:
    """Mini-batch training: each epoch shuffles, then forward, backward, update per batch.
    ``x`` is float (count x features), already scaled; ``on_epoch(epoch, seconds, loss)``."""
    history = History()
    for epoch in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            mask = dropout_mask((len(idx), params["W1"].shape[1]), dropout, rng, x.dtype.type)
            cache = forward(params, x[idx], mask)
            total += loss(cache.p, y[idx]) * len(idx)
            optimizer.step(params, backward(params, cache, y[idx]))
        seconds = time.perf_counter() - start
        history.epoch_seconds.append(seconds)
        history.train_loss.append(total / len(x))
        if on_epoch:
            on_epoch(epoch + 1, seconds, total / len(x))
    return history
