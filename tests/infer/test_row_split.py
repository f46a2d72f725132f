"""llama.cpp's row split (--split-mode row): the layers, their KV cache and compute buffers
placed as the layer split places them, every dense matrix cut by rows over the cards by their
total memory (MoE experts kept on their layer's card), read by all the cards at once; JSON says
row-split with the machine's cards; bad values are one line."""

from __future__ import annotations

import pytest

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.infer.engine import EngineSettings
from gpuwise.infer.memory import weight_split
from gpuwise.infer.row_split import row_split_memory, row_split_speed
from gpuwise.infer.split import split_memory, split_speed
from gpuwise.models import load_model
from tests.checks import finite_document, one_line

PLAN = ("plan", "llama-3.1-70b", "--task", "infer", "--weight-dtype", "q4_k_m", "--no-search")
CTX = 8192


def _machine(*names: str):
    catalog = load_catalog(None)
    cards = [catalog.find(n) for n in names]
    return cards, [usable_memory(c).bytes for c in cards]


def _both(model: str, weights: str, *names: str, layers: int | None = None):
    spec = load_model(model)
    s = EngineSettings(engine="llama.cpp", weight_type=weights, n_ctx=CTX)
    cards, usable = _machine(*names)
    k = spec.num_layers + 1 if layers is None else layers
    by_layer = split_memory(spec, s, cards, usable, CTX, k)
    by_row = row_split_memory(spec, s, cards, usable, usable, CTX, k)
    return spec, s, cards, usable, by_layer, by_row


@pytest.mark.parametrize(
    ("model", "weights", "cards"),
    [
        ("llama-3.1-70b", "q4_k_m", ("3090", "3090")),
        ("llama-3.1-8b", "q8_0", ("4090", "3060")),
        ("qwen3-30b-a3b", "q4_k_m", ("4090", "3090", "3060")),
    ],
)
def test_row_split_moves_weights_only(model, weights, cards):
    _, _, _, _, by_layer, by_row = _both(model, weights, *cards)
    # the same layers on the same cards, so the same KV cache and graph buffers (each card's
    # pool for its part of the split products comes on top); the weights on the cards add up
    # to the same bytes, shared differently
    for a, b in zip(by_layer.shares, by_row.shares, strict=True):
        assert (a.layers, a.output, a.kv) == (b.layers, b.output, b.kv)
        assert 0 < b.compute - a.compute < 256 << 20
    total_layer = sum(s.weights for s in by_layer.shares)
    total_row = sum(s.weights for s in by_row.shares)
    assert abs(total_layer - total_row) <= len(cards)  # rounding of each card's share
    assert by_row.host_bytes == by_layer.host_bytes


def test_dense_rows_follow_total_memory():
    spec, _, _, usable, _, by_row = _both("llama-3.1-8b", "q8_0", "4090", "3060")
    w = [s.weights for s in by_row.shares]
    # a dense model: every weight on the cards is a split matrix (norms counted in), so the
    # cards hold them in the ratio of their total memory: 24 GB to 12 GB
    assert w[0] / w[1] == pytest.approx(usable[0] / usable[1], rel=1e-6)
    assert spec.num_experts in (None, 0)


def test_moe_experts_stay_on_their_layers_card():
    spec, s, _, _usable, by_layer, by_row = _both("qwen3-30b-a3b", "q4_k_m", "4090", "3090", "3060")
    ws = weight_split(spec, s.weight_type)
    for i, share in enumerate(by_row.shares):
        experts = sum(ws.experts[il] for il in range(spec.num_layers) if by_row.slots[il] == i)
        assert experts > 0 and share.weights > experts  # its experts and a share of the rest
    # the third card holds fewer layers, so fewer experts, than in proportion to its memory
    assert by_layer.shares[2].layers < by_layer.shares[0].layers


def test_a_token_reads_the_cards_at_once():
    spec, s, _cards, usable, by_layer, by_row = _both("llama-3.1-70b", "q4_k_m", "3090", "3090")
    layer = split_speed(spec, s, by_layer, CTX, CTX).decode_tokens_per_s
    row = row_split_speed(spec, s, by_row, usable, CTX, CTX).decode_tokens_per_s
    assert layer < row < 2 * layer  # in parallel, less the syncs
    cards4, usable4 = _machine("3090", "3090", "3090", "3090")
    by_row4 = row_split_memory(spec, s, cards4, usable4, usable4, CTX, spec.num_layers + 1)
    assert row_split_speed(spec, s, by_row4, usable4, CTX, CTX).decode_tokens_per_s > row


def test_plan_json_names_the_row_split(cli):
    r = cli(*PLAN, "--gpu", "2x3090", "--seq", str(CTX), "--split-mode", "row", "--json")
    assert r.code == 0, r.err
    doc = finite_document(r.out)
    card = doc["cards"][0]
    assert doc["engine"]["split_mode"] == "row"
    assert (doc["parallel"]["strategy"], doc["parallel"]["gpus"]) == ("row-split", 2)
    assert card["fits"] and len(card["per_gpu"]) == 2
    assert any("row split" in n for n in card["memory"]["notes"])
    layer = finite_document(cli(*PLAN, "--gpu", "2x3090", "--seq", str(CTX), "--json").out)
    assert layer["engine"]["split_mode"] == "layer"
    assert layer["parallel"]["strategy"] == "layer-split"


def test_row_mode_puts_every_layer_on_the_cards_unless_told():
    # llama.cpp's fit does not move weights in row mode: a machine too small does not fit,
    # where the layer split leaves layers in host RAM
    spec, s, cards, usable, _, _ = _both("llama-3.1-70b", "q4_k_m", "3060", "3060")
    full = row_split_memory(spec, s, cards, usable, usable, CTX, spec.num_layers + 1)
    assert not full.fits and full.host_bytes == weight_split(spec, "q4_k_m").token_embd


def test_a_row_split_that_does_not_fit_says_so(cli):
    r = cli(*PLAN, "--gpu", "2x3060", "--split-mode", "row", "--json")
    assert r.code == 0, r.err
    card = finite_document(r.out)["cards"][0]
    assert not card["fits"] and card["offload"]["gpu_layers"] == card["offload"]["total_layers"]
    r = cli(*PLAN, "--gpu", "2x3060", "--split-mode", "row", "--gpu-layers", "40", "--json")
    card = finite_document(r.out)["cards"][0]
    assert card["offload"]["gpu_layers"] == 40 and card["offload"]["host_bytes"] > 0


@pytest.mark.parametrize("value", ["tensor", "none", "", "rows", "--"])
def test_a_split_mode_not_planned_is_one_line(cli, value):
    one_line(cli(*PLAN, "--gpu", "2x3090", f"--split-mode={value}"))


def test_recommend_tries_more_cards_in_row_mode(cli):
    base = ("recommend", *PLAN[1:6], "--gpu", "3090", "--seq", str(CTX), "--max-gpus", "4")
    row = finite_document(cli(*base, "--split-mode", "row", "--json").out)
    layer = finite_document(cli(*base, "--json").out)
    assert sorted(o["count"] for o in row["options"]) == [1, 2, 3, 4]
    assert sorted(o["count"] for o in layer["options"]) == [1, 2]  # up to the first that fits
    by_count = {o["count"]: o for o in row["options"]}
    assert by_count[4]["decode_tokens_per_s"] > by_count[2]["decode_tokens_per_s"]
    assert {o["strategy"] for o in row["options"] if o["count"] > 1} == {"row-split"}
