"""recommend --task infer with llama.cpp: machines of 1..N cards of a kind and the mixed ones the
user names, each option equal to plan's figures for the same machine, ranked by the objective;
a machine that runs only with layers in host RAM listed as not fitting with its offload speed;
bad input one line (hypothesis over the engine flags and machine names)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.checks import command_loads_none_of, finite_document, fixture_ok, one_line

BIG = ("llama-3.1-70b", "--task", "infer", "--weight-dtype", "q4_k_m", "--seq", "8192")
SMALL = ("llama-3.1-8b", "--task", "infer", "--weight-dtype", "q4_k_m")


def _rec(cli, *args: str) -> dict:
    r = cli("recommend", *args, "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


def _plan_card(cli, *args: str) -> dict:
    r = cli("plan", *args, "--no-search", "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)["cards"][0]


def _same(option: dict, card: dict) -> None:
    """An option of recommend says what plan says of the same machine."""
    assert option["fits"] == card["fits"]
    assert option["decode_tokens_per_s"] == card["time"]["decode_tokens_per_s"]
    assert option["prefill_tokens_per_s"] == card["time"]["prefill_tokens_per_s"]
    assert option["tokens_per_s"] == card["time"]["decode_tokens_per_s"]
    assert option["offload"] == card["offload"]
    assert option["headroom_bytes"] == card["headroom_bytes"]
    if "per_gpu" in card:
        assert option["per_gpu"] == card["per_gpu"]
    else:
        assert option["per_gpu"][0]["memory_bytes"] == card["memory"]["required_bytes"]


def test_options_equal_plans_figures_for_the_same_machine(cli):
    doc = _rec(cli, *BIG, "--gpu", "3090", "--gpu", "4090+3090", "--top", "0")
    assert doc["engine"]["name"] == "llama.cpp" and doc["engine"]["weight_type"] == "q4_k_m"
    by = {(o["gpu"], o["count"]): o for o in doc["options"]}
    one = by[("GeForce RTX 3090", 1)]
    _same(one, _plan_card(cli, *BIG, "--gpu", "3090"))
    two = by[("GeForce RTX 3090", 2)]
    _same(two, _plan_card(cli, *BIG, "--gpu", "3090", "--gpus", "2"))
    mixed = by[("GeForce RTX 4090 + GeForce RTX 3090", 2)]
    _same(mixed, _plan_card(cli, *BIG, "--gpu", "4090+3090"))
    # the question: a 70B Q4_K_M on two 3090s at 8k fits, layers split over both
    assert two["ok"] and two["strategy"] == "layer-split"
    assert [g["name"] for g in two["per_gpu"]] == ["GeForce RTX 3090"] * 2
    assert sum(g["layers"] for g in two["per_gpu"]) == 80
    assert all(g["memory_bytes"] <= g["usable_memory_bytes"] for g in two["per_gpu"])
    # one 3090 runs it only with layers in host RAM: not fitting, said with its speed
    assert not one["fits"] and not one["ok"]
    assert 0 < one["offload"]["gpu_layers"] < 81 and one["host_ram_bytes"] > 10 * 2**30
    assert one["decode_tokens_per_s"] < two["decode_tokens_per_s"]
    assert "host RAM" in one["reason"] and f"{one['decode_tokens_per_s']:,.1f}" in one["reason"]
    # a third 3090 is not tried: two hold every layer, and a layer split is no faster on three
    assert ("GeForce RTX 3090", 3) not in by


def test_the_cheapest_machine_is_the_one_whose_cards_cost_least(cli):
    series = ("--series", "GeForce RTX 30", "--series", "GeForce RTX 40")
    doc = _rec(cli, *BIG, *series, "--objective", "cheapest", "--top", "0")
    ok = [o for o in doc["options"] if o["ok"]]
    priced = [o["cost"] for o in ok if o["cost"] is not None]
    assert len(priced) >= 5
    assert [o["cost"] for o in ok[: len(priced)]] == sorted(priced)  # unpriced ones last
    # every fitting option is the fewest cards of its kind that hold the model
    for o in ok:
        smaller = [x for x in doc["options"] if x["gpu"] == o["gpu"] and x["count"] < o["count"]]
        assert all(not x["fits"] for x in smaller)
        assert o["offload"]["gpu_layers"] == o["offload"]["total_layers"]
    # cost is the cards' price times their count
    three090 = next(o for o in ok if o["gpu"] == "GeForce RTX 3090")
    assert three090["cost"] == 2 * three090["price"]["amount"]


def test_more_of_a_card_that_holds_more_layers_decodes_faster(cli):
    """Under a layer split with layers left in host RAM, the host's part decides the speed: two
    3060s (more layers on cards) decode faster than one, three faster than two."""
    doc = _rec(cli, *BIG, "--gpu", "3060", "--top", "0")
    by = {o["count"]: o for o in doc["options"]}
    assert not by[3]["fits"]
    layers = [by[n]["offload"]["gpu_layers"] for n in (1, 2, 3)]
    decode = [by[n]["decode_tokens_per_s"] for n in (1, 2, 3)]
    assert layers == sorted(layers) and decode == sorted(decode), (layers, decode)
    one = _plan_card(cli, *BIG, "--gpu", "3060")["time"]["decode_tokens_per_s"]
    assert by[1]["decode_tokens_per_s"] == one


def test_fastest_ranks_by_decode_speed_and_the_bandwidth_decides(cli):
    doc = _rec(cli, *SMALL, "--gpu", "3060,3090,4090,4060", "--objective", "fastest")
    ok = [o for o in doc["options"] if o["ok"]]
    decode = [o["decode_tokens_per_s"] for o in ok]
    assert decode == sorted(decode, reverse=True)
    # the 4090 (1008 GB/s) and 3090 (936 GB/s) decode an 8B faster than a 4060 (272 GB/s)
    names = [o["gpu"] for o in ok]
    assert names.index("GeForce RTX 4060") > names.index("GeForce RTX 3090")
    assert all(o["count"] == 1 for o in ok)  # Q4_K_M of an 8B fits each card alone


def test_table_lists_layers_decode_and_prefill(cli):
    r = cli("recommend", *BIG, "--gpu", "3090", "--gpu", "4090+3090", "--lang", "en")
    assert r.code == 0, r.err
    assert "Layers" in r.out and "Decode" in r.out and "Prefill" in r.out
    assert "RTX 4090 + RTX 3090" in r.out and "81/81" in r.out
    assert "Engine: llama.cpp, Q4_K_M weights" in r.out
    assert "host RAM" in r.out  # why one 3090 is held back


def test_bad_llama_recommends_are_one_line(cli):
    one_line(cli("recommend", *SMALL, "--emit", "launch"), "--emit")
    one_line(cli("recommend", *SMALL, "--grad-accum", "2"), "grad")
    one_line(cli("recommend", *SMALL, "--gpu-layers", "99"), "--gpu-layers")
    one_line(cli("recommend", *SMALL, "--gpu", "4090+"), "4090+3090")
    one_line(cli("recommend", *SMALL, "--deadline", "2h"), "--tokens")
    one_line(cli("recommend", "llama-3.1-8b", "--gpu", "2x3090"), "llama.cpp")  # training


_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 200).map(str),
    st.sampled_from(["auto", "on", "off", "33", "0", "60GB/s", "nan", "inf", "-0", "ollama"]),
)


@fixture_ok
@given(
    flag=st.sampled_from(
        ["--gpu-layers", "--flash-attn", "--host-bandwidth", "--engine", "--kv-dtype", "--ubatch"]
    ),
    value=_VALUES,
)
def test_any_value_of_the_engine_flags_recommends_or_is_one_line(cli, flag, value):
    r = cli("recommend", *SMALL, "--gpu", "3060", f"{flag}={value}", "--json")
    if r.code == 0:
        doc = finite_document(r.out)
        assert all(o["offload"]["gpu_layers"] <= 33 for o in doc["options"] if "offload" in o)
        return
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert r.err.count("\n") == 1, r.err
    json.loads(r.out)


@fixture_ok
@given(name=st.text(alphabet="0123456789x+ 4090abc,", min_size=1, max_size=14))
def test_any_machine_name_recommends_or_is_one_line(cli, name):
    r = cli("recommend", *SMALL, f"--gpu={name}", "--max-gpus", "2", "--json")
    if r.code == 0:
        finite_document(r.out)
        return
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert r.err.count("\n") == 1, r.err


def test_llama_recommends_import_no_torch():
    command_loads_none_of(["recommend", *SMALL, "--json"], ("torch", "transformers"))
