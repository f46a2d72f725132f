"""The same network in Keras, as TensorFlow's beginner quickstart writes it.

    model = tf.keras.models.Sequential([
      tf.keras.layers.Flatten(input_shape=(28, 28)),
      tf.keras.layers.Dense(128, activation='relu'),
      tf.keras.layers.Dropout(0.2),
      tf.keras.layers.Dense(10)
    ])
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=5)
    model.evaluate(x_test,  y_test, verbose=2)

(tensorflow/docs, site/en/tutorials/quickstart/beginner.ipynb, commit e865955, 2023-11-14;
https://www.tensorflow.org/tutorials/quickstart/beginner). Keras' defaults are the example's:
Adam with learning rate 0.001 (epsilon 1e-7), ``fit``'s batch of 32. gpuwise passes its own
settings (the same by default; ``--lr``, ``--batch``, ``--epochs``, ``--optimizer sgd`` change
them for every run), the data it loaded (scaled to [0, 1] as the example's ``/ 255.0``) and a
seed, and times each epoch. TensorFlow runs on its GPU when it sees one.

This module is the only one of the example that imports TensorFlow.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpuwise.mnist.deps import need

tf: Any = need("tensorflow")


@dataclass
class KerasRun:
    device: str
    version: str
    epoch_seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_accuracy: float = 0.0


def build_model(shape: tuple[int, int], hidden: int, dropout: float, n_out: int = 10) -> Any:
    """The quickstart's Sequential model (logits out; the softmax is in the loss)."""
    with warnings.catch_warnings():
        # Keras 3 prefers an Input layer to input_shape=, and says so: the example as written
        warnings.filterwarnings("ignore", message=".*input_shape.*", category=UserWarning)
        return tf.keras.models.Sequential(
            [
                tf.keras.layers.Flatten(input_shape=shape),
                tf.keras.layers.Dense(hidden, activation="relu"),
                tf.keras.layers.Dropout(dropout),
                tf.keras.layers.Dense(n_out),
            ]
        )


def optimizer(name: str, lr: float) -> Any:
    if name == "sgd":
        return tf.keras.optimizers.SGD(learning_rate=lr)
    return tf.keras.optimizers.Adam(learning_rate=lr)


def device() -> str:
    """``cuda`` when TensorFlow sees a GPU, else ``cpu``."""
    return "cuda" if tf.config.list_physical_devices("GPU") else "cpu"


def train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    settings: dict[str, Any],
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> KerasRun:
    """Train on images already scaled to [0, 1] (count x height x width), labels 0-9, with
    the run's ``settings`` (:func:`gpuwise.mnist.run.settings`: epochs, batch, lr, optimizer,
    hidden, dropout, seed)."""
    s = settings
    tf.keras.utils.set_random_seed(s["seed"])
    run = KerasRun(device(), str(getattr(tf, "__version__", "?")))
    shape = (int(x_train.shape[1]), int(x_train.shape[2]))
    model = build_model(shape, s["hidden"], s["dropout"])
    model.compile(
        optimizer=optimizer(s["optimizer"], s["lr"]),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        epochs=s["epochs"],
        batch_size=s["batch"],
        verbose=0,
        callbacks=[_timer(run, on_epoch)],
    )
    run.train_loss = [float(v) for v in history.history["loss"]]
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    run.test_accuracy = float(accuracy)
    return run


def _timer(run: KerasRun, on_epoch: Callable[[int, float, float], None] | None) -> Any:
    """A Keras callback that times each epoch into ``run.epoch_seconds``."""

    class EpochTimer(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seconds = time.perf_counter() - self.start
            run.epoch_seconds.append(seconds)
            if on_epoch is not None:
                on_epoch(epoch + 1, seconds, float((logs or {}).get("loss", float("nan"))))

    return EpochTimer()
