"""The page in a real browser: Debian's Chromium driven by Playwright, against a server on a free
loopback port. What the page shows is what the command line prints with --json; Chinese labels;
an uploaded config and a GGUF model's header; every error path as one line on the page;
screenshots at 1280 and 390 px.

Skipped (with the reason) only outside CI when Chromium or Playwright is absent; in CI (``CI``
set, as .ci/run sets it) their absence fails. ``GPUWISE_SCREENSHOTS=DIR`` keeps the two
screenshots the README shows (docs/web-desktop.png, docs/web-phone.png) in DIR.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")

from gpuwise.web.page import PAGE_KEYS
from tests.i18n.checks import leftover_english

CHROMIUM = os.environ.get("GPUWISE_CHROMIUM", "/usr/bin/chromium")
STATIC = Path(__file__).parents[2] / "src" / "gpuwise" / "web" / "static"
GIB = 1 << 30


def _browser_or_skip():
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install playwright)"
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests in CI: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def server():
    """The application under uvicorn on a free loopback port, for this module."""
    _browser_or_skip()
    import uvicorn

    from gpuwise.web.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), log_level="warning", lifespan="off")
    serving = uvicorn.Server(config)
    thread = threading.Thread(target=serving.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not serving.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{port}"
    serving.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    opened = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    errors: list[str] = []
    opened.on("pageerror", lambda e: errors.append(str(e)))
    # the page's Content-Security-Policy refuses nothing the page itself does
    opened.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield opened
    opened.close()
    assert not errors, errors  # no script error on the page, whatever the test did


def _open(page, server, query: str = "") -> None:
    page.goto(f"{server}/?{query}")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)


def _plan_rows(page) -> dict[str, dict[str, str | None]]:
    """Each row of the cards table: its cells' exact values (data-value) and shown text."""
    return page.eval_on_selector_all(
        "#cards tbody tr",
        """rows => Object.fromEntries(rows.map(r => [r.dataset.card, Object.fromEntries(
            [...r.cells].map(c => [c.className.split(' ').pop(),
                                   {value: c.dataset.value ?? null, text: c.textContent}]))]))""",
    )


def _check_plan(rows, doc):
    assert list(rows) == [c["name"] for c in doc["cards"]]
    for card in doc["cards"]:
        row = rows[card["name"]]
        for column, got in (
            ("required", card["memory"]["required_bytes"]),
            ("usable", card["usable_memory_bytes"]),
            ("headroom", card["headroom_bytes"]),
        ):
            assert int(row[column]["value"]) == got
            assert row[column]["text"] == f"{got / GIB:.2f}"
        assert row["fit" if card["fits"] else "nofit"]["value"] == str(card["fits"]).lower()
        speed = card["time"].get("train_tokens_per_s") or card["time"]["decode_tokens_per_s"]
        assert float(row["speed"]["value"]) == pytest.approx(speed, rel=1e-12)
        assert row["max-seq"]["value"] == (
            None if card["max_seq"] is None else str(card["max_seq"])
        )


def _wait_plan(page, words: str) -> None:
    """Until the plan asked for with ``words`` on its command line is shown."""
    page.wait_for_function(
        "w => document.getElementById('working').hidden && "
        "(document.querySelector('#cli-command').textContent.includes(w) || "
        "!document.getElementById('error').hidden)",
        arg=words,
        timeout=30_000,
    )
    assert page.is_hidden("#error"), page.text_content("#error-text")


def test_the_page_shows_the_plan_the_command_prints_and_follows_changed_inputs(page, server, cli):
    _open(page, server, "model=llama-3.1-8b&method=qlora&gpu=3090&gpu=4060ti16")
    page.wait_for_selector("#cards tbody tr")
    printed = cli(
        "plan", "llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--gpu", "4060ti16", "--json"
    )
    _check_plan(_plan_rows(page), printed.json())
    # the memory chart has one bar per card and part (drawn as SVG by ECharts)
    assert page.locator("#memory-chart svg").count() == 1
    # change inputs: batch 2, gradient checkpointing, another card
    page.fill("#batch", "2")
    page.check("#grad-checkpointing")
    page.fill("#gpu", "4090, 3060")
    page.click("#plan")
    _wait_plan(page, "--batch 2")
    printed = cli(
        "plan",
        "llama-3.1-8b",
        "--method",
        "qlora",
        "--batch",
        "2",
        "--grad-checkpointing",
        "--gpu",
        "4090",
        "--gpu",
        "3060",
        "--json",
    )
    _check_plan(_plan_rows(page), printed.json())
    command = page.text_content("#cli-command")
    assert command.startswith(
        "gpuwise plan llama-3.1-8b --method qlora --batch 2 --grad-checkpointing"
    )
    assert "--gpu 4090 --gpu 3060" in command
    # the shareable link holds the inputs: opened elsewhere, it shows the same plan
    link = page.get_attribute("#share", "href")
    page.goto("about:blank")
    page.goto(link)
    page.wait_for_selector("#cards tbody tr", timeout=30_000)
    _check_plan(_plan_rows(page), printed.json())
    assert page.input_value("#batch") == "2" and page.is_checked("#grad-checkpointing")


def test_recommend_ranks_the_options_the_command_prints(page, server, cli):
    _open(page, server, "model=qwen2.5-7b&method=lora")
    page.fill("#budget", "3000")
    page.select_option("#currency", "usd")
    page.click("#recommend")
    page.wait_for_selector("#options tbody tr", timeout=30_000)
    printed = cli(
        "recommend",
        "qwen2.5-7b",
        "--method",
        "lora",
        "--currency",
        "usd",
        "--top",
        "10",
        "--budget",
        "3000",
        "--json",
    ).json()
    rows = page.eval_on_selector_all(
        "#options tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => [c.textContent, c.dataset.value ?? null]))",
    )
    assert len(rows) == len(printed["options"])
    for row, option in zip(rows, printed["options"], strict=True):
        assert row[1][0] == f"{option['count']} × {option['gpu']}"
        assert row[4][1] == (
            None
            if option["required_per_gpu_bytes"] is None
            else str(option["required_per_gpu_bytes"])
        )
        assert row[6][1] == (None if option["cost"] is None else _js_number(option["cost"]))


def _js_number(value: float) -> str:
    """How JavaScript's String() writes a JSON number."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def test_chinese_labels_and_back(page, server):
    from gpuwise.i18n import catalogue

    _open(page, server, "model=7b&gpu=3090")
    page.wait_for_selector("#cards tbody tr")
    page.select_option("#lang", "zh-CN")
    zh = catalogue("zh-CN", "web")
    page.wait_for_function(
        "t => document.querySelector('h1').textContent === t", arg=zh["web.page.title"]
    )
    headers = page.eval_on_selector_all("#cards th", "hs => hs.map(h => h.textContent)")
    assert headers[0] == zh["web.page.col_card"] and headers[2] == zh["web.page.col_required"]
    labels = page.eval_on_selector_all("[data-t]", "els => els.map(e => e.textContent).join('\\n')")
    assert (
        leftover_english(
            labels,
            [
                "gpuwise",
                "config.json",
                "llama-3.1-8b",
                "7b",
                "hub",
                "id",
                "3090",
                "4090",
                "a100-80gb",
                "GiB",
                "tokens/s",
                "GB",
                "TFLOPS",
                "USD",
                "bf16/fp16",
                "CLI",
                "ollama",
                "gpuwise recommend --max-gpus 1",  # a command, shown as code
            ],
        )
        == []
    )
    assert page.get_attribute("html", "lang") == "zh-CN"
    # the plan is asked again in Chinese: its "fits" words follow
    page.wait_for_function(
        "() => document.querySelector('#cards td.fit, #cards td.nofit').textContent.length === 1"
    )
    page.select_option("#lang", "en")
    page.wait_for_function(
        "() => document.querySelector('h1').textContent.startsWith('gpuwise: will')"
    )


def test_the_default_language_is_the_browsers(browser, server):
    zh = browser.new_page(locale="zh-CN")
    _open(zh, server)
    assert zh.get_attribute("html", "lang") == "zh-CN"
    zh.close()


def test_an_uploaded_config_is_planned_as_the_file_on_the_command_line(page, server, cli, tmp_path):
    from gpuwise.models.resolve import preset_index
    from gpuwise.packaged import packaged_text

    text = packaged_text("gpuwise.models", f"presets/{preset_index()['qwen2.5-7b']['file']}")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.json").write_text(text)
    _open(page, server)
    page.set_input_files("#config", str(folder / "config.json"))
    page.wait_for_function("() => document.getElementById('model').disabled")
    page.fill("#gpu", "4090")
    page.click("#plan")
    page.wait_for_function(
        "() => document.querySelector('#cli-command').textContent"
        ".startsWith('gpuwise plan config.json')"
    )
    printed = cli("plan", str(folder / "config.json"), "--gpu", "4090", "--json").json()
    _check_plan(_plan_rows(page), printed)


def _error_after(page, action) -> str:
    page.evaluate("() => { document.getElementById('error').hidden = true; }")
    action()
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    return page.text_content("#error-text")


def test_every_error_is_one_line_on_the_page_as_the_command_says_it(page, server, cli, tmp_path):
    _open(page, server)

    def plan_with(**values):
        def act():
            for field, value in values.items():
                page.fill(f"#{field}", value)
            page.click("#plan")

        return act

    cases = [
        (
            plan_with(model="no-such-model-xyz", gpu="3090"),
            ["plan", "no-such-model-xyz", "--gpu", "3090"],
        ),
        (plan_with(model="7b", gpu="rtx 9999"), ["plan", "7b", "--gpu", "rtx 9999"]),
        (
            plan_with(model="7b", gpu="3090", batch="0"),
            ["plan", "7b", "--gpu", "3090", "--batch", "0"],
        ),
        (
            plan_with(model="7b", gpu="3090", batch="1", seq="99999999"),
            ["plan", "7b", "--gpu", "3090", "--seq", "99999999"],
        ),
    ]
    for act, words in cases:
        shown = _error_after(page, act)
        expected = cli(*words, "--json").json()["error"]["message"]
        assert shown == expected and "\n" not in shown
    # a budget the command refuses
    page.fill("#seq", "")
    page.fill("#budget", "-5")
    shown = _error_after(page, lambda: page.click("#recommend"))
    assert shown == cli("recommend", "7b", "--budget", "-5", "--json").json()["error"]["message"]
    # a malformed upload: the reader's line, naming the file as uploaded
    bad = tmp_path / "broken.json"
    bad.write_text('{"model_type": "llama", "hidden_size": ')
    page.set_input_files("#config", str(bad))
    page.wait_for_function("() => document.getElementById('model').disabled")
    shown = _error_after(page, lambda: page.click("#plan"))
    expected = cli("plan", str(bad), "--gpu", "3090", "--json").json()["error"]["message"]
    assert shown == expected.replace(str(tmp_path) + "/", "")
    # an upload over the size limit: 413, one line
    huge = tmp_path / "huge.json"
    huge.write_bytes(b'{"model_type": "' + b"x" * (9 << 20) + b'"}')
    page.set_input_files("#config", str(huge))
    page.wait_for_function("() => document.getElementById('uploaded').textContent.includes('huge')")
    shown = _error_after(page, lambda: page.click("#plan"))
    assert "8,454,144" in shown and "\n" not in shown


def test_screenshots_at_desktop_and_phone_widths(browser, server, tmp_path):
    keep = Path(os.environ.get("GPUWISE_SCREENSHOTS") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    query = "model=llama-3.1-8b&method=qlora&gpu=3090&gpu=4060ti16&gpu=4090&gpu=a100-sxm-80gb"
    for name, width, height, lang in (
        ("web-desktop", 1280, 1000, "en"),
        ("web-phone", 390, 844, "zh"),
    ):
        locale = "zh-CN" if lang == "zh" else "en-US"
        shot = browser.new_page(viewport={"width": width, "height": height}, locale=locale)
        _open(shot, server, f"{query}&lang={lang}")
        shot.wait_for_selector("#cards tbody tr")
        if width < 600:  # on a phone, the answer rather than the form
            shot.evaluate("() => document.getElementById('plan-out').scrollIntoView()")
        out = keep / f"{name}.png"
        shot.screenshot(path=str(out))
        assert out.stat().st_size > 10_000
        # nothing wider than the screen but the tables' own scrolling boxes
        assert shot.evaluate("() => document.documentElement.scrollWidth") <= width
        shot.close()


def test_the_page_asks_for_exactly_its_catalogue_keys():
    """Every key the script and the HTML name is served to the page, and every served key is
    named there (a part's label by its part, a task's label by its task)."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    named = set(re.findall(r'\bt\("(web\.[a-z_.]+)"', script)) | set(
        re.findall(r'data-t="(web\.[a-z_.]+)"', html)
    )
    parts = json.loads(re.search(r"const PARTS = (\[.*?\]);", script).group(1))
    named |= {f"web.part.{p}" for p in parts} | {"web.page.task_train", "web.page.task_infer"}
    assert named == set(PAGE_KEYS)


def test_no_script_or_style_comes_from_another_host():
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"https?://", (STATIC / "app.js").read_text(encoding="utf-8"))


def test_the_fit_map_and_time_to_train_are_the_plans_the_command_prints(page, server, cli):
    _open(page, server, "model=7b&method=lora&gpu=3090&gpu=4060ti16&tokens=100M")
    page.wait_for_selector("#cards tbody tr")
    printed = cli(
        "plan",
        "7b",
        "--method",
        "lora",
        "--gpu",
        "3090",
        "--gpu",
        "4060ti16",
        "--tokens",
        "100M",
        "--json",
    ).json()
    rows = _plan_rows(page)
    _check_plan(rows, printed)
    for card in printed["cards"]:
        seconds = card["time"]["time_to_train_s"]
        assert float(rows[card["name"]]["time"]["value"]) == pytest.approx(seconds, rel=1e-12)
        assert rows[card["name"]]["time"]["text"] == f"{seconds / 3600:.1f} h"
    page.select_option("#fitmap-card", "GeForce RTX 3090")
    page.click("#fitmap-draw")
    page.wait_for_function("() => document.getElementById('fitmap-chart').dataset.cells")
    cells = json.loads(page.get_attribute("#fitmap-chart", "data-cells"))
    # batch 1-16 by sequence 512 up to the model's context (4096 for 7b)
    assert [(b, s) for b, s, _, _ in cells] == [
        (b, s) for b in (1, 2, 4, 8, 16) for s in (512, 1024, 2048, 4096)
    ]
    for batch, seq, fits, required in cells:
        doc = cli(
            "plan",
            "7b",
            "--method",
            "lora",
            "--gpu",
            "3090",
            "--batch",
            str(batch),
            "--seq",
            str(seq),
            "--no-search",
            "--json",
        ).json()
        assert required == doc["cards"][0]["memory"]["required_bytes"]
        assert fits == doc["cards"][0]["fits"]
    assert {c[2] for c in cells} == {True, False}  # this grid crosses the card's limit


def test_the_launch_files_download(page, server, tmp_path):
    import zipfile

    _open(page, server, "model=qwen2.5-7b&method=lora&gpu=3090")
    page.wait_for_selector("#cards tbody tr")
    with page.expect_download(timeout=30_000) as download:
        page.click("#download")
    saved = tmp_path / "launch.zip"
    download.value.save_as(saved)
    names = zipfile.ZipFile(saved).namelist()
    assert {"train.py", "launch.sh", ".gpuwise-emit.json"} <= set(names)
    # a bare size names no model to load: the command line's line, on the page
    page.fill("#model", "7b")
    shown = _error_after(page, lambda: page.click("#download"))
    assert "7b" in shown and "\n" not in shown


def test_inference_with_llama_cpp_shows_the_plan_the_command_prints(page, server, cli):
    _open(
        page, server, "model=llama-3.1-8b&task=infer&weight-dtype=q4_k_m&engine=llama.cpp&gpu=3060"
    )
    page.wait_for_selector("#cards tbody tr")
    printed = cli(
        "plan",
        "llama-3.1-8b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--engine",
        "llama.cpp",
        "--gpu",
        "3060",
        "--json",
    ).json()
    _check_plan(_plan_rows(page), printed)
    assert "--weight-dtype q4_k_m --engine llama.cpp" in page.text_content("#cli-command")


def test_an_uploaded_gguf_header_is_planned_as_the_file_on_the_command_line(
    page, server, cli, tmp_path, monkeypatch
):
    pytest.importorskip("gguf", reason="the gguf package writes the test's model file")
    from gpuwise.models.gguf_file import read_header
    from gpuwise.web import api
    from tests.models.test_gguf_file import write_tiny

    path = write_tiny(tmp_path / "tiny-q4.gguf")
    # the page sends the file's first bytes up to the API's limit: here its header and a few
    # bytes more, never the weights (a real model's header is a few MiB of a many-GiB file)
    header = read_header(str(path)).data_offset
    assert header + 64 < path.stat().st_size
    monkeypatch.setattr(api, "GGUF_LIMIT", header + 64)
    _open(page, server)
    page.set_input_files("#config", str(path))
    page.wait_for_function("() => document.getElementById('model').disabled")
    page.select_option("#task", "infer")
    page.fill("#gpu", "3090, 4060ti16")
    page.click("#plan")
    _wait_plan(page, "gpuwise plan tiny-q4.gguf --task infer")
    printed = cli(
        "plan", str(path), "--task", "infer", "--gpu", "3090", "--gpu", "4060ti16", "--json"
    )
    assert printed.code == 0, printed.err
    _check_plan(_plan_rows(page), printed.json())
    # the API said where the header ends: the page sends no more than that from now on
    assert page.evaluate("() => state.upload.gguf.byteLength") == header
    page.fill("#batch", "2")  # and the header alone is the same model
    page.click("#plan")
    _wait_plan(page, "gpuwise plan tiny-q4.gguf --task infer --batch 2")
    again = cli("plan", str(path), "--task", "infer", "--batch", "2", "--gpu", "3090", "--gpu",
                "4060ti16", "--json")  # fmt: skip
    _check_plan(_plan_rows(page), again.json())
    # the model it read: the parameters gpuwise model FILE.gguf counts
    model = cli("model", str(path), "--json").json()
    assert page.get_attribute("#model-line", "data-value") == str(model["params"])
    assert page.text_content("#model-line") == (
        f"{model['name']}: {model['params']:,} parameters ({model['model_type']})"
    )


def test_every_card_is_placed_for_this_job_as_recommend_finds_it(page, server, cli):
    _open(page, server, "model=qwen2.5-7b&method=lora&gpu=3090&currency=usd")
    _wait_plan(page, "gpuwise plan qwen2.5-7b --method lora")
    page.wait_for_selector("#catalog-chart[data-points]", timeout=30_000)
    shown = json.loads(page.get_attribute("#catalog-chart", "data-points"))
    printed = cli(
        "recommend", "qwen2.5-7b", "--method", "lora", "--currency", "usd",
        "--max-gpus", "1", "--top", "0", "--json",
    )  # fmt: skip
    assert printed.code == 0, printed.err
    runs = [o for o in printed.json()["options"] if o["tokens_per_s"] is not None]
    assert len(runs) > 20  # most of the catalogue runs a 7B LoRA on one card
    assert shown == [[o["slug"], o["headroom_bytes"], o["tokens_per_s"], o["cost"]] for o in runs]
    assert page.is_hidden("#catalog-error")
