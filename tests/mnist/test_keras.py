"""``gpuwise mnist --impl keras``: TensorFlow's beginner quickstart model as written, timed per
epoch beside NumPy and PyTorch in one run. CI has no TensorFlow: the wiring is tested with a
fake ``tensorflow`` module that records what the example asks of Keras; a real run is tested
where TensorFlow is installed and skipped, saying so, where it is not."""

from __future__ import annotations

import importlib.util
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tests.mnist.test_cli_mnist import RUN_KEYS


class _Layer(SimpleNamespace):
    pass


class FakeKeras:
    """What keras_mlp calls, recording each call; ``fit`` learns nothing and reports a falling
    loss, ``evaluate`` a fixed accuracy."""

    def __init__(self, gpus: int = 0) -> None:
        self.calls: dict[str, object] = {}
        self.gpus = gpus

    def module(self):
        fake = self

        class Callback:
            pass

        class Model:
            def __init__(self, layers):
                fake.calls["layers"] = layers

            def compile(self, optimizer, loss, metrics):
                fake.calls["compile"] = (optimizer, loss, metrics)

            def fit(self, x, y, epochs, batch_size, verbose, callbacks):
                fake.calls["fit"] = dict(x=x, y=y, epochs=epochs, batch_size=batch_size)
                for e in range(epochs):
                    for cb in callbacks:
                        cb.on_epoch_begin(e)
                        cb.on_epoch_end(e, {"loss": 1.0 / (e + 1)})
                return SimpleNamespace(history={"loss": [1.0 / (e + 1) for e in range(epochs)]})

            def evaluate(self, x, y, verbose):
                fake.calls["evaluate"] = (x, y)
                return [0.1, 0.975]

        def layer(kind):
            return lambda *a, **k: _Layer(kind=kind, args=a, kwargs=k)

        def seed(s):
            fake.calls["seed"] = s

        keras = SimpleNamespace(
            models=SimpleNamespace(Sequential=Model),
            layers=SimpleNamespace(
                Flatten=layer("Flatten"), Dense=layer("Dense"), Dropout=layer("Dropout")
            ),
            losses=SimpleNamespace(SparseCategoricalCrossentropy=layer("SCCE")),
            optimizers=SimpleNamespace(Adam=layer("Adam"), SGD=layer("SGD")),
            callbacks=SimpleNamespace(Callback=Callback),
            utils=SimpleNamespace(set_random_seed=seed),
        )
        return SimpleNamespace(
            __version__="2.99.0-fake",
            keras=keras,
            config=SimpleNamespace(list_physical_devices=lambda kind: ["GPU"] * self.gpus),
        )


def use_tensorflow(monkeypatch, module) -> None:
    """``import tensorflow`` gives ``module`` (None: ImportError), and keras_mlp imports anew."""
    import gpuwise.mnist

    monkeypatch.setitem(sys.modules, "tensorflow", module)
    monkeypatch.delitem(sys.modules, "gpuwise.mnist.keras_mlp", raising=False)
    monkeypatch.delattr(gpuwise.mnist, "keras_mlp", raising=False)


@pytest.fixture
def fake_tf(monkeypatch):
    fake = FakeKeras()
    use_tensorflow(monkeypatch, fake.module())
    return fake


def test_the_quickstart_model_as_written(cli, idx_dir, fake_tf):
    r = cli("mnist", "--impl", "keras", "--data-dir", str(idx_dir), "--epochs", "3", "--json")
    assert r.code == 0, r.err
    [run] = r.json()["runs"]
    assert set(run) == RUN_KEYS
    assert (run["impl"], run["loop"], run["device"]) == ("keras", "keras", "cpu")
    assert (run["batch"], run["lr"], run["optimizer"]) == (32, 0.001, "adam")
    assert len(run["epoch_seconds"]) == 3 and run["train_loss"] == [1.0, 0.5, 0.33333]
    assert run["test_accuracy"] == 0.975
    c = fake_tf.calls
    flatten, hidden, dropout, out = c["layers"]
    assert (flatten.kind, flatten.kwargs) == ("Flatten", {"input_shape": (28, 28)})
    assert (hidden.kind, hidden.args, hidden.kwargs) == ("Dense", (128,), {"activation": "relu"})
    assert (dropout.kind, dropout.args) == ("Dropout", (0.2,))
    assert (out.kind, out.args, out.kwargs) == ("Dense", (10,), {})  # logits, as the example
    optimizer, loss, metrics = c["compile"]
    assert (optimizer.kind, optimizer.kwargs) == ("Adam", {"learning_rate": 0.001})
    assert (loss.kind, loss.kwargs) == ("SCCE", {"from_logits": True})
    assert metrics == ["accuracy"]
    fit = c["fit"]
    assert (fit["epochs"], fit["batch_size"]) == (3, 32) and c["seed"] == 0
    # the images as the example scales them: x / 255 in [0, 1]
    assert fit["x"].dtype == np.float32 and fit["x"].shape == (300, 28, 28)
    assert fit["x"].min() >= 0.0 and fit["x"].max() <= 1.0 and fit["x"].max() > 0.9


def test_flags_reach_keras(cli, idx_dir, fake_tf):
    args = ("--data-dir", str(idx_dir), "--epochs", "1", "--json")
    r = cli("mnist", "--impl", "keras", *args, "--optimizer", "sgd", "--batch", "64", "--seed", "7")
    assert r.code == 0, r.err
    optimizer, _, _ = fake_tf.calls["compile"]
    assert (optimizer.kind, optimizer.kwargs) == ("SGD", {"learning_rate": 0.1})
    assert fake_tf.calls["fit"]["batch_size"] == 64 and fake_tf.calls["seed"] == 7


def test_keras_beside_numpy_in_one_run_and_table(cli, idx_dir, fake_tf):
    args = ("--data-dir", str(idx_dir), "--epochs", "2")
    doc = cli("mnist", "--impl", "numpy,keras", *args, "--json").json()
    assert [r["impl"] for r in doc["runs"]] == ["numpy", "keras"]
    out = cli("mnist", "--impl", "keras,numpy", *args).out
    assert "NumPy" in out and "Keras" in out


def test_a_gpu_that_tensorflow_sees_is_the_device(cli, idx_dir, monkeypatch):
    use_tensorflow(monkeypatch, FakeKeras(gpus=1).module())
    r = cli("mnist", "--impl", "keras", "--data-dir", str(idx_dir), "--epochs", "1", "--json")
    assert r.json()["runs"][0]["device"] == "cuda"


def test_without_tensorflow_one_line_says_what_to_install(cli, idx_dir, monkeypatch):
    use_tensorflow(monkeypatch, None)  # import tensorflow -> ImportError
    for impl in ("keras", "all"):
        r = cli("mnist", "--impl", impl, "--data-dir", str(idx_dir), "--epochs", "1")
        if impl == "all" and importlib.util.find_spec("torch") is None:
            continue  # torch missing is said first
        assert r.code == 2 and r.out == "" and r.err.count("\n") == 1
        assert "pip install 'gpuwise[keras]'" in r.err and "Traceback" not in r.err
    # said before the data is looked for: no MNIST here either, and TensorFlow is named
    r = cli("mnist", "--impl", "keras", "--no-download")
    assert r.code == 2 and "gpuwise[keras]" in r.err and "--data-dir" not in r.err


@pytest.mark.parametrize("bad", ["kears", "numpy;torch", "", "torch,,x", "NUMPY,tf"])
def test_bad_impl_is_a_usage_line(cli, bad):
    r = cli("mnist", "--impl", bad, "--dataset", "digits")
    assert r.code == 2 and r.err.count("\n") == 1 and "keras" in r.err and "all" in r.err


def test_real_tensorflow_learns_the_digits(cli):
    """With TensorFlow installed (gpuwise[keras]): the quickstart model on the 8x8 digits."""
    pytest.importorskip("sklearn")
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed (pip install 'gpuwise[keras]')")
    r = cli("mnist", "--impl", "keras", "--dataset", "digits", "--epochs", "20", "--json")
    assert r.code == 0, r.err
    [run] = r.json()["runs"]
    assert run["impl"] == "keras" and len(run["epoch_seconds"]) == 20
    assert run["train_loss"][-1] < run["train_loss"][0] and run["test_accuracy"] >= 0.9
