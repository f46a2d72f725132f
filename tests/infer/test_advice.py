"""Advice for a GGUF model that does not fit a card under llama.cpp: a smaller GGUF type (the
largest that fits), a quantized KV cache, a shorter context, fewer GPU layers with the host RAM
they need, more of the same card; each change equal to the plan of the changed command, and the
next larger step not fitting."""

from __future__ import annotations

from tests.checks import finite_document

BIG = ("llama-3.1-70b", "--task", "infer", "--weight-dtype", "q4_k_m", "--seq", "8192")
LONG = ("llama-3.1-8b", "--task", "infer", "--weight-dtype", "q4_k_m", "--seq", "131072")


def _plan(cli, *args: str) -> dict:
    r = cli("plan", *args, "--no-search", "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


def _changes(advice: dict) -> list[dict]:
    return [*advice["fits_alone"], *advice["not_enough"]]


def _by(advice: dict, word: str) -> dict:
    return next(c for c in _changes(advice) if word in c["change"])


def test_a_70b_on_one_3090_is_told_the_largest_type_and_the_cards_that_fit(cli):
    doc = _plan(cli, *BIG, "--gpu", "3090")
    a = doc["advice"]
    assert a["engine"] == "llama.cpp" and not a["fits_as_asked"]
    assert a["required_bytes"] > a["usable_bytes"]
    weights = _by(a, "weights")
    assert weights["fits"] and weights["weight_type"] != "q4_k_m"
    smaller = _plan(cli, *BIG, "--gpu", "3090", "--weight-dtype", weights["weight_type"])
    card = smaller["cards"][0]
    assert card["fits"] and card["time"]["decode_tokens_per_s"] == weights["decode_tokens_per_s"]
    assert card["memory"]["required_bytes"] == weights["required_per_gpu_bytes"]
    two = _by(a, "split")
    assert two["fits"] and two["gpus"] == 2
    pair = _plan(cli, *BIG, "--gpu", "3090", "--gpus", "2")["cards"][0]
    assert pair["fits"] and pair["time"]["decode_tokens_per_s"] == two["decode_tokens_per_s"]
    layers = _by(a, "--gpu-layers")
    asked = doc["cards"][0]
    assert layers["gpu_layers"] == asked["offload"]["gpu_layers"] < 81
    assert layers["host_bytes"] == asked["offload"]["host_bytes"] > 15 * 2**30
    assert "host RAM" in layers["caveat"]
    assert layers["decode_tokens_per_s"] < two["decode_tokens_per_s"] / 3  # host RAM is slow


def test_the_type_said_is_the_largest_that_fits(cli):
    from gpuwise.models import load_model
    from gpuwise.models.weight_types import GGUF_TYPES, tensor_weights

    a = _plan(cli, *BIG, "--gpu", "3090")["advice"]
    said = _by(a, "weights")["weight_type"]
    spec = load_model("llama-3.1-70b")

    def size(t: str) -> int:
        return sum(x.bytes for x in tensor_weights(spec, t))

    larger = [t for t in GGUF_TYPES if size(said) < size(t) < size("q4_k_m")]
    assert larger  # there were larger types to try
    for t in larger:
        assert not _plan(cli, *BIG, "--gpu", "3090", "--weight-dtype", t)["cards"][0]["fits"], t


def test_a_long_context_is_told_a_shorter_one_and_a_quantized_cache(cli):
    a = _plan(cli, *LONG, "--gpu", "3060")["advice"]
    ctx = _by(a, "context")
    assert ctx["fits"] and ctx["n_ctx"] % 256 == 0 and ctx["n_ctx"] < 131072
    assert _plan(cli, *LONG, "--gpu", "3060", "--seq", str(ctx["n_ctx"]))["cards"][0]["fits"]
    longer = str(ctx["n_ctx"] + 256)
    assert not _plan(cli, *LONG, "--gpu", "3060", "--seq", longer)["cards"][0]["fits"]
    kv = _by(a, "KV cache")
    same = _plan(cli, *LONG, "--gpu", "3060", "--kv-dtype", kv["kv_type"])["cards"][0]
    assert same["fits"] == kv["fits"]
    assert same["memory"]["breakdown"]["kv_cache"] < 131072 * 32 * 2 * 8 * 128 * 2


def test_a_plan_that_fits_has_no_advice(cli):
    assert _plan(cli, *BIG, "--gpu", "3090", "--gpus", "2").get("advice") is None
    assert (
        _plan(cli, "llama-3.1-8b", "--task", "infer", "--weight-dtype", "q4_k_m")["advice"] is None
    )


def test_recommend_advises_the_card_the_user_has(cli):
    r = cli("recommend", *BIG, "--have", "4090", "--gpu", "4090", "--max-gpus", "1", "--json")
    assert r.code == 0, r.err
    a = finite_document(r.out)["advice"]
    assert a["card"] == "GeForce RTX 4090" and a["engine"] == "llama.cpp"
    assert any(c["fits"] and "weights" in c["change"] for c in a["fits_alone"])
    assert all(c["gpus"] == 1 for c in _changes(a))  # --max-gpus 1: no second card offered


def test_advice_table_is_shown(cli):
    r = cli("plan", *BIG, "--gpu", "3090", "--no-search", "--lang", "en")
    assert r.code == 0, r.err
    assert "weights instead of Q4_K_M" in r.out and "layers split" in r.out
