"""What reaches the terminal is text, never commands: card names, notes, price notes, file names
and what nvidia-smi, NVML or torch print are shown with their control characters escaped and
their square brackets as typed (rich markup is never read from them)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text

from gpuwise.catalog import load_catalog
from gpuwise.doctor import build_report, detect, load_knowledge
from gpuwise.render.console import console, visible_text
from gpuwise.render.doctor_json import doctor_doc
from gpuwise.render.doctor_tables import doctor_tables
from gpuwise.render.measure_tables import bench_table, measure_table
from gpuwise.visible import visible
from tests.doctor.fakes import Scenario, fake_torch, smi_rows

SRC = Path(__file__).resolve().parents[2] / "src" / "gpuwise"

# What a terminal may act on instead of showing (C0/C1 controls, DEL, bidi and other format
# characters, lone surrogates, line/paragraph separators); written out here, not imported.
ACTING = {"Cc", "Cf", "Cs", "Zl", "Zp"}

# (name in the card file, how the table must show it)
NAMES = [
    ("[/bold]", "[/bold]"),
    ("[red]x", "[red]x"),
    (":smile: [link=file:///etc]y", ":smile: [link=file:///etc]y"),
    ("a\x1b[2Jb", "a\\x1b[2Jb"),
    ("bell\x07", "bell\\x07"),
    ("rtl\u202elive", "rtl\\u202elive"),
    ("csi\x9b31m", "csi\\x9b31m"),
]

# Text a hostile or broken file can hold: anything, with the pieces that act made common
# (markup tags, emoji codes, escape sequences, C1 CSI, bidi overrides, a lone surrogate).
PIECES = [
    "[/]", "[b]", "[/bold]", "[link=file:///x]", ":smile:", "\\", "\x1b[2J", "\x1b]0;t\x07",
    "\x9b31m", "\x7f", "\r", "\t", "\u202e", "\u2066", "\u2028", "\ufeff", "\u200b", "\udcff",
]  # fmt: skip
HOSTILE = st.lists(
    st.one_of(st.characters(exclude_categories=()), st.sampled_from(PIECES)), min_size=1, max_size=6
).map("".join)


def assert_terminal_safe(text: str) -> None:
    acting = [c for c in text if c != "\n" and unicodedata.category(c) in ACTING]
    assert not acting, f"the terminal would act on {acting[:5]!r}"


def squeeze(text: str) -> str:
    """``text`` without whitespace: a title wrapped over lines reads as one piece."""
    return "".join(text.split())


def write_card_file(path: Path, name: str, slug: str = "odd-card") -> str:
    card = {
        "slug": slug,
        "name": name,
        "compute_capability": "8.6",
        "memory_gb": 24,
        "bandwidth_gb_s": 936,
        "fp32_tflops": 35.6,
        "tdp_w": 350,
    }
    path.write_text(json.dumps({"series": "User", "sources": {}, "cards": [card]}))
    return str(path)


COMMANDS = [
    ("gpus",),
    ("gpu", "odd-card"),
    ("plan", "gpt2", "--gpu", "odd-card"),
    ("recommend", "gpt2", "--gpu", "odd-card"),
]


@pytest.mark.parametrize("name,shown", NAMES)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_card_names_reach_tables_as_text(cli, tmp_path, command, name, shown):
    cards = write_card_file(tmp_path / "cards.json", name)
    r = cli(*command, "--catalog", cards)
    assert_terminal_safe(r.out + r.err)
    assert "Traceback" not in r.err
    if name.isprintable():  # brackets and colons are ordinary characters of a name
        assert r.code == 0, r.err
    if r.code == 0:
        assert shown in r.out
    else:  # a card file may refuse control characters: one line that names the file
        assert r.code == 2 and r.out == "" and r.err.count("\n") == 1 and cards in r.err


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=HOSTILE, note=HOSTILE)
def test_any_card_name_and_price_note_is_shown_safely(cli, tmp_path, name, note):
    cards = write_card_file(tmp_path / "cards.json", name)
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps({"currency": "usd", "cards": {"odd-card": {"buy": 700, "note": note}}})
    )
    card = cli("gpu", "odd-card", "--catalog", cards)
    assert_terminal_safe(card.out + card.err)
    assert card.code in (0, 2) and "Traceback" not in card.err
    if card.code == 0:
        stored = cli("gpu", "odd-card", "--catalog", cards, "--json").json()["name"]
        assert squeeze(visible(stored, keep="\n")) in squeeze(card.out)
    rec = ("recommend", "gpt2", "--gpu", "odd-card", "--catalog", cards, "--prices", str(prices))
    table, doc = cli(*rec), cli(*rec, "--json")
    for r in (table, doc):
        assert_terminal_safe(r.out + r.err)
        assert r.code in (0, 2) and "Traceback" not in r.err
    if doc.code == 0:  # the JSON carries the note unchanged, escaped where a terminal would act
        sources = {o["price_source"] for o in doc.json()["options"]}
        assert sources and all(note in s for s in sources if s)


def shown(renderables: object, capsys: pytest.CaptureFixture[str]) -> str:
    out = console()
    for r in renderables if isinstance(renderables, list) else [renderables]:
        out.print(r)
    return capsys.readouterr().out


@settings(max_examples=150, deadline=None)
@given(text=HOSTILE)
def test_the_console_shows_any_text_as_text(text):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        out = console()
        out.print(text)
        out.print(Text(text, style="bold"))
        out.print(Text.assemble(("<", "red"), text, (">", "green")))
    printed = buffer.getvalue()
    assert_terminal_safe(printed)
    assert squeeze(visible(text, keep="\n")) in squeeze(printed)


def test_escaping_keeps_the_styles_of_the_text_around():
    text = Text.assemble(("ok", "green"), ("\x1b[2J", "red"), "plain")
    escaped = visible_text(text)
    assert escaped.plain == "ok\\x1b[2Jplain"
    styles = [{s.style for s in escaped.spans if s.start <= i < s.end} for i in range(14)]
    assert styles == [{"green"}] * 2 + [{"red"}] * 7 + [set()] * 5


def test_doctor_shows_what_nvidia_smi_and_torch_print_as_text(capsys):
    """A driver or torch build can print anything; doctor's tables and lines escape it."""
    s = Scenario(
        smi=smi_rows(
            "NVIDIA GeForce RTX 3090\x1b]0;owned\x07, 575.57.08\x1b[2J, 24576 MiB, 1 MiB, 8.6"
        ),
        torch_version="2.8.0+cu128",
        torch_module=fake_torch("2.8.0+cu128", ("warning [/bold] \x1b[31mred\x1b[0m \u202e",)),
        libs={"bitsandbytes": "0.48\x1b[5m"},
    )
    kb = load_knowledge()
    catalog = load_catalog()
    doc = doctor_doc(build_report(kb, catalog, detect(s.probes())), kb.date, catalog.date)
    out = shown(doctor_tables(doc), capsys)
    assert_terminal_safe(out)
    assert "575.57.08\\x1b[2J" in out and "0.48\\x1b[5m" in out


def test_doctor_without_a_gpu_shows_a_failing_nvidia_smi_as_text(capsys):
    s = Scenario(
        smi=(9, "", "\x1b[2JNVIDIA-SMI has failed: couldn't communicate with the driver\x07")
    )
    kb = load_knowledge()
    catalog = load_catalog()
    doc = doctor_doc(build_report(kb, catalog, detect(s.probes())), kb.date, catalog.date)
    out = shown(doctor_tables(doc), capsys)
    assert_terminal_safe(out)
    assert "No NVIDIA GPU" in out


def test_bench_and_measure_tables_show_device_text_as_text(capsys):
    """Device names and torch's out-of-memory message come from the driver."""
    evil = "Card\x1b[2J [/red]\x9b"
    bench = {
        "card": None,
        "device_name": evil,
        "device": "cuda:0",
        "seconds": 1.0,
        "notes": [f"note {evil}"],
        "matmul": [{"dtype": "fp16", "size": 4096, "skipped": f"skipped: {evil}"}],
        "bandwidth": [],
        "train_step": None,
    }
    gib = 1 << 30
    measured = {
        "device_name": evil,
        "warmup_steps": 1,
        "step_s_all": [0.1, 0.1],
        "oom": True,
        "oom_during": "backward",
        "oom_message": f"CUDA out of memory {evil}",
        "peak_allocated_bytes": gib,
        "peak_reserved_bytes": gib,
        "context_bytes": gib // 2,
        "reserved_plus_context_bytes": 2 * gib,
        "driver_used_bytes": 2 * gib,
        "step_s": 0.1,
        "tokens_per_s": 1000.0,
    }
    measure = {
        "measured": measured,
        "plan": {
            "memory": {"peak_allocated_bytes": gib, "required_bytes": 2 * gib},
            "tokens_per_s": 900.0,
        },
        "errors": {"peak_error": 0.0, "required_error": 0.0, "tokens_per_s_error": -0.1},
        "measured_on": {"torch": "2.8\x1b[1m"},
        "attn_implementation": "sdpa",
        "seconds": 2.0,
        "verdict": {"message": f"verdict {evil}"},
        "notes": [evil],
        "model": {"name": f"model {evil}"},
    }
    out = shown([bench_table(bench), measure_table(measure)], capsys)
    assert_terminal_safe(out)
    assert "Card\\x1b[2J" in out and "[/red]" in out


def test_tables_colour_with_styles_not_markup(cli):
    """No markup is read any more: a table that still wrote some would show its tags."""
    out = cli("plan", "gpt2", "--gpu", "3090", "--gpu", "1060").out
    assert "yes" in out and "required" in out
    assert "[green]" not in out and "[bold]" not in out and "[red]" not in out


def test_only_the_safe_console_prints_rich_output():
    """A table printed through another rich console would skip the escaping."""
    makers = [
        p.relative_to(SRC).as_posix()
        for p in sorted(SRC.rglob("*.py"))
        if "Console(" in p.read_text(encoding="utf-8")
    ]
    # bench's progress bar (stderr) shows only the names of its own steps
    assert makers == ["cli/bench.py", "render/console.py"]
