"""The NumPy network: backprop against finite differences, the update rules against hand
arithmetic, inverted dropout's expectation."""

from __future__ import annotations

import numpy as np
import pytest

from gpuwise.mnist import numpy_mlp as nm


def _loss_of(params, x, y, mask):
    return nm.loss(nm.forward(params, x, mask).p, y)


@pytest.mark.parametrize("with_dropout", [False, True])
def test_backprop_matches_central_differences(with_dropout):
    rng = np.random.default_rng(7)
    params = nm.init_params(6, 5, 4, rng, dtype=np.float64)
    params["b1"] = rng.normal(size=5)  # nonzero biases, so their gradients are exercised
    params["b2"] = rng.normal(size=4)
    x = rng.normal(size=(8, 2, 3))  # Flatten: 2 x 3 -> 6
    y = rng.integers(0, 4, size=8)
    mask = nm.dropout_mask((8, 5), 0.4, rng, np.float64) if with_dropout else None
    grads = nm.backward(params, nm.forward(params, x, mask), y)
    h = 1e-6
    assert set(params) == {"W1", "b1", "W2", "b2"}
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            saved = value[i]
            value[i] = saved + h
            up = _loss_of(params, x, y, mask)
            value[i] = saved - h
            down = _loss_of(params, x, y, mask)
            value[i] = saved
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_sgd_step_is_minus_lr_times_gradient():
    params = {"W": np.array([[1.0, -2.0]]), "b": np.array([0.5])}
    grads = {"W": np.array([[0.5, -4.0]]), "b": np.array([2.0])}
    nm.SGD(lr=0.1).step(params, grads)
    np.testing.assert_allclose(params["W"], [[0.95, -1.6]])
    np.testing.assert_allclose(params["b"], [0.3])


def test_adam_two_steps_match_hand_arithmetic():
    # beta1 0.9, beta2 0.999, eps 1e-7, lr 0.01; one weight, gradients 0.5 then -1.0.
    # step 1: m = 0.05, v = 0.00025, m_hat = 0.5, v_hat = 0.25 -> w = 1 - 0.01 * 0.5 / (0.5 + eps)
    # step 2: m = 0.9 * 0.05 - 0.1 = -0.055, v = 0.999 * 0.00025 + 0.001 = 0.00124975,
    #         m_hat = -0.055 / 0.19, v_hat = 0.00124975 / 0.001999
    params = {"w": np.array([1.0])}
    adam = nm.Adam(lr=0.01)
    adam.step(params, {"w": np.array([0.5])})
    w1 = 1 - 0.01 * 0.5 / (0.5 + 1e-7)
    np.testing.assert_allclose(params["w"], [w1], rtol=0, atol=1e-15)
    adam.step(params, {"w": np.array([-1.0])})
    m_hat, v_hat = -0.055 / 0.19, 0.00124975 / 0.001999
    w2 = w1 - 0.01 * m_hat / (v_hat**0.5 + 1e-7)
    np.testing.assert_allclose(params["w"], [w2], rtol=1e-12)
    assert params["w"][0] > w1  # a negative gradient moves the weight up


def test_inverted_dropout_keeps_the_expectation():
    mask = nm.dropout_mask((400, 500), 0.2, np.random.default_rng(0))
    assert abs((mask == 0).mean() - 0.2) < 0.01
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.8)}
    assert abs(mask.mean() - 1.0) < 0.01


def test_training_lowers_the_loss_on_a_learnable_problem():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=300)
    x = rng.normal(scale=0.3, size=(300, 4))
    x[np.arange(300), y] += 2.0  # the class is the bright feature
    for optimizer in (nm.Adam(0.01), nm.SGD(0.5)):
        params = nm.init_params(4, 16, 3, np.random.default_rng(0))
        history = nm.fit(params, x.astype(np.float32), y, optimizer, 15, 16, 0.2, rng)
        assert history.train_loss[-1] < 0.5 * history.train_loss[0]
        assert nm.accuracy(params, x.astype(np.float32), y) > 0.95
