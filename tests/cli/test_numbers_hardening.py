"""Numbers and names on the command line: finite, meaningful, exact, and never silently dropped.

Issue 11, hardening item 6: ``--gpu ""``, ``--tokens ""`` and ``--deadline ""`` (an unset shell
variable) are errors, not "flag left out"; a deadline under the stated minute is refused;
``--tokens`` is read exactly; ``--reserve``, ``--budget``, ``--host-ram`` and ``mnist --lr``
refuse NaN, infinities, subnormals and negatives.
"""

from __future__ import annotations

import argparse
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gpuwise.cli.recommend import parse_duration
from gpuwise.cli.workload_flags import parse_amount, parse_reserve
from gpuwise.errors import GpuwiseError

from ..checks import one_line

PLAN = ("plan", "gpt2", "--no-search", "--json")
RECOMMEND = ("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--json")
HOSTILE = ["nan", "NaN", "inf", "-inf", "1e400", "-1e400", "5e-324", "-0", "-1", "1" * 5000]


# -- empty values -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", " ", "3090,", ",3090", "3090,,4090"])
@pytest.mark.parametrize("command", [PLAN, (*RECOMMEND[:2], "--json")])
def test_an_empty_card_name_is_an_error_not_every_card(cli, command, value):
    one_line(cli(*command, "--gpu", value), "--gpu", "empty card name")


def test_card_names_still_split_on_commas(cli):
    doc = cli(*PLAN, "--gpu", "3090, 4090", "--gpu", "3060").json()
    assert [c["slug"] for c in doc["cards"]] == ["rtx-3090", "rtx-4090", "rtx-3060"]


@pytest.mark.parametrize(
    "args",
    [
        (*PLAN, "--gpu", "3090", "--tokens", ""),
        (*RECOMMEND, "--tokens", ""),
        (*RECOMMEND, "--tokens", "1B", "--deadline", ""),
        (*RECOMMEND, "--tokens", "1B", "--deadline", "  "),
        (*RECOMMEND, "--series", ""),
    ],
)
def test_an_empty_value_is_an_error_not_the_flag_left_out(cli, args):
    one_line(cli(*args), args[-2])


# -- --deadline ---------------------------------------------------------------------------------

UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800, "": 3600}


@given(unit=st.sampled_from(sorted(UNITS)), value=st.floats(0, 10 * 365 * 86400 / 60))
def test_a_deadline_is_taken_exactly_when_from_a_minute_to_ten_years(unit, value):
    text = f"{value!r}{unit}"
    if "e" in text.lower().replace("e+", "").split(unit or "\0")[0]:
        return  # 1e-05: not how a duration is written; refused as not a duration
    seconds = float(repr(value)) * UNITS[unit]
    if 60 <= seconds <= 10 * 365 * 86400:
        assert parse_duration(text) == pytest.approx(seconds)
    else:
        with pytest.raises(GpuwiseError, match="out of range; use 1m to 10 years"):
            parse_duration(text)


@pytest.mark.parametrize("text", ["0.001m", "0.5m", "0.99min", "0.01h", "0.0001d", "0"])
def test_a_deadline_under_a_minute_is_refused(cli, text):
    one_line(cli(*RECOMMEND, "--tokens", "1B", "--deadline", text), "1m to 10 years")


@pytest.mark.parametrize("text", ["1e400h", "1" * 5000, "nan", "inf", "-1h", "48 hours"])
def test_a_deadline_that_is_no_duration_is_one_line(cli, text):
    one_line(cli(*RECOMMEND, "--tokens", "1B", "--deadline", text), "--deadline")


# -- --tokens: exact integers -------------------------------------------------------------------

SCALES = {"": 0, "k": 3, "M": 6, "B": 9, "G": 9, "t": 12}


@given(n=st.integers(1, 10**16))
@example(n=9_007_199_254_740_993)  # 2**53 + 1: a float would make it ...992
@example(n=10**16)
def test_every_count_is_read_exactly(n):
    assert parse_amount(str(n), "--tokens") == n
    assert parse_amount(f"{n:,}", "--tokens") == n
    assert parse_amount(f"{n:_}", "--tokens") == n


@given(
    mantissa=st.integers(1, 10**6), decimals=st.integers(0, 3), unit=st.sampled_from(sorted(SCALES))
)
def test_scaled_counts_are_exact_or_refused(mantissa, decimals, unit):
    digits = str(mantissa).rjust(decimals + 1, "0")
    text = (f"{digits[:-decimals]}.{digits[-decimals:]}" if decimals else digits) + unit
    numerator = mantissa * 10 ** SCALES[unit]
    if numerator < 10**decimals:  # below 1
        with pytest.raises(GpuwiseError, match="out of range"):
            parse_amount(text, "--tokens")
    elif numerator % 10**decimals:
        with pytest.raises(GpuwiseError, match="whole number"):
            parse_amount(text, "--tokens")
    elif numerator // 10**decimals > 10**16:
        with pytest.raises(GpuwiseError, match="out of range"):
            parse_amount(text, "--tokens")
    else:
        assert parse_amount(text, "--tokens") == numerator // 10**decimals


@pytest.mark.parametrize(
    "text", [*HOSTILE, "1e17", "10000000000000001", "2e16", "0", "0.5", "1e" + "9" * 5000]
)
def test_counts_out_of_range_or_not_counts_are_one_line(cli, text):
    one_line(cli(*PLAN, "--gpu", "3090", "--tokens", " " + text), "--tokens")


# -- --reserve, --budget, --host-ram ------------------------------------------------------------


@given(gib=st.floats(0.001, 1024))
def test_a_reserve_in_range_is_taken(gib):
    assert parse_reserve(repr(gib)) == round(gib * (1 << 30))


@given(gib=st.floats(allow_nan=True, allow_infinity=True).filter(lambda g: not 0.001 <= g <= 1024))
def test_a_reserve_out_of_range_is_refused(gib):
    if gib == 0 and math.copysign(1, gib) > 0:
        assert parse_reserve(repr(gib)) == 0
        return
    with pytest.raises(GpuwiseError, match="out of range"):
        parse_reserve(repr(gib))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_reserves_are_one_line(cli, text):
    one_line(cli(*PLAN, "--gpu", "3090", "--reserve", " " + text), "--reserve")


@pytest.mark.parametrize(
    ("flag", "text"),
    [
        *[("--budget", t) for t in ("nan", "inf", "-inf", "1e400", "5e-324", "-1", "0")],
        *[("--host-ram", t) for t in ("nan", "inf", "1e400", "5e-324", "1e-300", "-1")],
        *[("--max-power", t) for t in ("nan", "inf", "5e-324", "0")],
    ],
)
def test_hostile_recommend_numbers_are_one_line(cli, flag, text):
    one_line(cli(*RECOMMEND, flag, " " + text), flag)


def test_no_host_ram_is_still_allowed(cli):
    assert cli(*RECOMMEND, "--host-ram", "0").code == 0


# -- mnist --lr ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["nan", "inf", "-inf", "1e400", "5e-324", "1e-300", "0", "-0", "-0.001", "11", "x"]
)
def test_a_learning_rate_that_means_nothing_is_refused_before_any_work(cli, text):
    # digits and one NumPy epoch: were the rate taken, the run would at least be short
    r = cli("mnist", "--dataset", "digits", "--impl", "numpy", "--epochs", "1", f"--lr={text}")
    one_line(r, "--lr", "1e-06 to 10")


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_learning_rates_are_taken_only_from_1e6_to_10(value):
    from gpuwise.cli.mnist import learning_rate

    if 1e-6 <= value <= 10:
        assert learning_rate(repr(value)) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="1e-06 to 10"):
            learning_rate(repr(value))


@pytest.mark.parametrize("command", [("gpus", "--json"), RECOMMEND])
@pytest.mark.parametrize("empty", ["", " ", "\t"])
def test_an_empty_series_names_none_in_any_command(cli, command, empty):
    """``--series ''`` once listed every card in ``gpus`` (every series contains '')."""
    one_line(cli(*command, "--series", empty), "--series", "names no series")


@pytest.mark.parametrize("empty", ["", " "])
def test_an_empty_have_names_no_card(cli, empty):
    """``--have ''`` (an unset shell variable) was taken for no card at all."""
    r = cli(*RECOMMEND, "--have", empty)
    one_line(r, "--have", "empty")
