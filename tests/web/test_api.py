"""The JSON API of `gpuwise serve`: the command line's own documents and one-line errors."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.web import api
from gpuwise.web.app import MAX_BODY, create_app
from tests.web.asgi import call

APP = create_app()

#: (command line words after the command, the same as API fields)
CASES = [
    (
        "gpus",
        ["--series", "RTX 40", "--sort", "memory_gb"],
        [("series", "RTX 40"), ("sort", "memory_gb")],
    ),
    ("gpu", ["3090"], [("name", "3090")]),
    ("model", ["qwen2.5-7b"], [("model", "qwen2.5-7b")]),
    ("model", ["--list"], [("list", "true")]),
    (
        "plan",
        [
            "llama-3.1-8b",
            "--method",
            "qlora",
            "--gpu",
            "3090",
            "--gpu",
            "4060ti16",
            "--seq",
            "1024",
        ],
        [
            ("model", "llama-3.1-8b"),
            ("method", "qlora"),
            ("gpu", "3090"),
            ("gpu", "4060ti16"),
            ("seq", "1024"),
        ],
    ),
    (
        "plan",
        ["7b", "--task", "infer", "--weight-dtype", "int4", "--batch", "4", "--tokens", "1M"],
        [
            ("model", "7b"),
            ("task", "infer"),
            ("weight-dtype", "int4"),
            ("batch", "4"),
            ("tokens", "1M"),
        ],
    ),
    (
        "plan",
        ["qwen2.5-7b", "--grad-checkpointing", "offload", "--gpu", "4090", "--batch", "4"],
        [
            ("model", "qwen2.5-7b"),
            ("grad-checkpointing", "offload"),
            ("gpu", "4090"),
            ("batch", "4"),
        ],
    ),
    (
        "plan",
        ["qwen2.5-7b", "--method", "lora", "--grad-checkpointing", "--gpu", "3090"],
        [
            ("model", "qwen2.5-7b"),
            ("method", "lora"),
            ("grad-checkpointing", "true"),
            ("gpu", "3090"),
        ],
    ),
    (
        "recommend",
        ["qwen2.5-7b", "--method", "lora", "--budget", "9000", "--currency", "cny", "--top", "5"],
        [
            ("model", "qwen2.5-7b"),
            ("method", "lora"),
            ("budget", "9000"),
            ("currency", "cny"),
            ("top", "5"),
        ],
    ),
    (
        "explain",
        ["qwen2.5-7b", "--method", "lora", "--gpu", "4090", "--tokens", "100M"],
        [("model", "qwen2.5-7b"), ("method", "lora"), ("gpu", "4090"), ("tokens", "100M")],
    ),
    (
        "doctor",
        [
            "--card",
            "GTX 1080 Ti",
            "--driver",
            "535.104",
            "--torch",
            "2.8.0+cu128",
            "--os",
            "linux",
            "--python",
            "3.12",
        ],
        [
            ("card", "GTX 1080 Ti"),
            ("driver", "535.104"),
            ("torch", "2.8.0+cu128"),
            ("os", "linux"),
            ("python", "3.12"),
        ],
    ),
]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("command", "words", "fields"), CASES, ids=[c[0] for c in CASES])
def test_the_api_answers_with_the_document_the_command_prints(cli, command, words, fields, lang):
    printed = cli(command, *words, "--json", "--lang", lang)
    assert printed.code in (0, 1), printed.err  # doctor: 1 when it finds an error
    got = call(APP, f"/api/{command}", [*fields, ("lang", lang)])
    assert got.status == 200, got.body
    assert got.headers["content-type"].startswith("application/json")
    assert got.json() == printed.json()
    assert got.json()["schema_version"] == printed.json()["schema_version"]


BAD = [
    ("plan", ["--batch", "x"], [("batch", "x")]),
    ("plan", ["--method", "sideways"], [("method", "sideways")]),
    (
        "plan",
        ["llama-3.1-8b", "--gpu", "rtx 9999"],
        [("model", "llama-3.1-8b"), ("gpu", "rtx 9999")],
    ),
    ("plan", ["no-such-model-xyz"], [("model", "no-such-model-xyz")]),
    ("plan", ["7b", "--seq", "0"], [("model", "7b"), ("seq", "0")]),
    ("recommend", ["7b", "--budget", "-5"], [("model", "7b"), ("budget", "-5")]),
    (
        "recommend",
        ["7b", "--deadline", "soon", "--tokens", "1B"],
        [("model", "7b"), ("deadline", "soon"), ("tokens", "1B")],
    ),
    ("gpu", ["nonesuch"], [("name", "nonesuch")]),
    ("gpus", ["--sort", "colour"], [("sort", "colour")]),
    ("doctor", ["--card", "3090", "--driver", "banana"], [("card", "3090"), ("driver", "banana")]),
]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("command", "words", "fields"), BAD, ids=[" ".join(b[1]) for b in BAD])
def test_bad_input_is_a_400_with_the_command_lines_own_line(cli, command, words, fields, lang):
    printed = cli(command, *words, "--json", "--lang", lang)
    assert printed.code == 2
    expected = printed.json()["error"]
    got = call(APP, f"/api/{command}", [*fields, ("lang", lang)])
    assert got.status == 400
    assert got.json()["error"] == expected
    assert "\n" not in expected["message"] and "Traceback" not in got.body.decode()


def test_the_language_follows_accept_language_when_lang_is_not_given():
    zh = call(
        APP, "/api/gpu", [("name", "nonesuch")], headers={"accept-language": "zh-TW,zh;q=0.9"}
    )
    en = call(
        APP, "/api/gpu", [("name", "nonesuch")], headers={"accept-language": "fr-FR,en;q=0.5"}
    )
    assert any("\u4e00" <= c <= "\u9fff" for c in zh.json()["error"]["message"])
    assert not any("\u4e00" <= c <= "\u9fff" for c in en.json()["error"]["message"])
    weighed = call(
        APP,
        "/api/gpu",
        [("name", "nonesuch")],
        headers={"accept-language": "fr;q=1, zh-CN;q=0.4, en;q=0.8"},
    )
    assert weighed.json()["error"]["message"] == en.json()["error"]["message"]
    bad = call(APP, "/api/gpu", [("name", "3090"), ("lang", "fr")])
    assert bad.status == 400 and "zh" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("catalog", "/etc/passwd"),
        ("prices", "p.json"),
        ("market", "m.json"),
        ("emit", "out"),
        ("download", "true"),
        ("trust-remote-code", "true"),
        ("json", "true"),
        ("help", "true"),
    ],
)
def test_flags_that_touch_files_the_network_or_remote_code_are_refused(field, value):
    got = call(APP, "/api/plan", [("model", "7b"), (field, value)])
    assert got.status == 400
    message = got.json()["error"]["message"]
    assert field in message and "method" in message  # names the field and what is taken


def test_a_model_named_by_a_path_on_this_machine_is_not_read(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "llama"}')
    for name in (str(config), str(tmp_path), "/etc/hostname"):
        got = call(APP, "/api/model", [("model", name)])
        assert got.status == 400 and "upload" in got.json()["error"]["message"], name


def test_doctor_describes_a_machine_and_never_inspects_this_one():
    got = call(APP, "/api/doctor", [("driver", "535.104")])
    assert got.status == 400 and "card" in got.json()["error"]["message"]


def _post(path, body: dict | bytes):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(APP, path, method="POST", body=raw, headers={"content-type": "application/json"})


def test_a_post_body_takes_the_same_fields_as_the_query():
    query = call(
        APP,
        "/api/plan",
        [
            ("model", "7b"),
            ("batch", "2"),
            ("grad-checkpointing", "true"),
            ("gpu", "3090"),
            ("gpu", "4090"),
        ],
    )
    body = _post(
        "/api/plan",
        {"model": "7b", "batch": 2, "grad-checkpointing": True, "gpu": ["3090", "4090"]},
    )
    assert query.status == body.status == 200
    assert query.json() == body.json()
    assert body.json()["workload"]["grad_checkpointing"] is True


def test_an_uploaded_config_is_the_config_file_on_the_command_line(cli, tmp_path):
    from gpuwise.models.resolve import preset_index
    from gpuwise.packaged import packaged_text

    text = packaged_text("gpuwise.models", f"presets/{preset_index()['qwen2.5-7b']['file']}")
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(text)
    printed = cli("plan", str(folder / "config.json"), "--gpu", "4090", "--json")
    got = _post("/api/plan", {"config": text, "config_name": "config.json", "gpu": "4090"})
    assert got.status == 200, got.body
    doc, expected = got.json(), printed.json()
    assert doc["memory"] == expected["memory"] and doc["cards"] == expected["cards"]
    assert "gpuwise-web-" not in got.body.decode()  # the temporary folder is not shown


def test_a_malformed_upload_is_the_readers_one_line(cli, tmp_path):
    bad = '{"model_type": "llama", "hidden_size": '
    (tmp_path / "broken.json").write_text(bad)
    printed = cli("model", str(tmp_path / "broken.json"), "--json")
    got = _post("/api/model", {"config": bad, "config_name": "broken.json"})
    assert got.status == 400
    assert got.json()["error"]["message"] == printed.json()["error"]["message"].replace(
        str(tmp_path) + "/", ""
    )


def test_a_body_over_the_limit_is_a_413_with_one_line():
    got = _post("/api/plan", b'{"config": "' + b" " * MAX_BODY + b'"}')
    assert got.status == 413
    assert f"{MAX_BODY:,}" in got.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapi.py",
        "/static//etc/passwd",
        "/static/../../../../etc/passwd",
        "/../../etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fcli/main.py",
        "/static/..\\app.py",
    ],
)
def test_no_file_outside_the_pages_folder_is_served(path):
    got = call(APP, path)
    assert got.status == 404
    assert b"import" not in got.body and b"root:" not in got.body


def test_a_request_for_another_host_is_refused():
    """A page elsewhere reaching this server by DNS rebinding names its own host."""
    got = call(APP, "/api/gpus", headers={"host": "attacker.example:8000"})
    assert got.status == 421 and "127.0.0.1" in got.json()["error"]["message"]
    assert call(APP, "/api/gpus", headers={"host": "localhost:8000"}).status == 200
    assert (
        create_app("0.0.0.0")
        and call(create_app("0.0.0.0"), "/api/gpus", headers={"host": "box.lan"}).status == 200
    )


def test_the_openapi_description_lists_every_field_of_every_command():
    doc = call(APP, "/api/openapi.json").json()
    emits = {f"/api/{c}/emit" for c in api.EMITS}
    assert set(doc["paths"]) == {f"/api/{c}" for c in api.served()} | emits
    for command in api.served():
        names = {p["name"] for p in doc["paths"][f"/api/{command}"]["get"]["parameters"]}
        assert names == set(api.fields_of(command)) | {"lang"}
    plan = {p["name"]: p for p in doc["paths"]["/api/plan"]["get"]["parameters"]}
    assert plan["batch"]["schema"]["type"] == "integer"
    assert plan["gpu"]["schema"]["type"] == "array"
    assert "qlora" in plan["method"]["schema"]["enum"]
    assert "catalog" not in plan


def test_the_page_catalogue_is_the_pages_labels_in_the_language_asked():
    from gpuwise.i18n import catalogue
    from gpuwise.web.page import PAGE_KEYS

    zh = call(APP, "/api/messages", [("lang", "zh")]).json()
    assert zh["lang"] == "zh-CN"
    assert zh["messages"] == {k: catalogue("zh-CN", "web")[k] for k in PAGE_KEYS}
    en = call(APP, "/api/messages", headers={"accept-language": "en-GB"}).json()
    assert en["messages"]["web.page.plan"] == "Plan" and set(en["messages"]) == set(PAGE_KEYS)


# -- never a 5xx, whatever comes in -----------------------------------------------------------

_NAMES = sorted({name for c in api.COMMANDS[:6] for name in api.fields_of(c)})
_field = st.tuples(
    st.one_of(st.sampled_from(_NAMES), st.text(max_size=12)),
    st.one_of(
        st.sampled_from(["0", "-1", "1e400", "nan", "inf", "3090", "7b", "lora", "true", "", "1B"]),
        st.text(max_size=30),
    ),
)
_command = st.sampled_from([*api.COMMANDS, "probe", "serve", "nope", ""])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=_command, fields=st.lists(_field, max_size=6), lang=st.sampled_from(["en", "zh"]))
def test_no_query_gets_a_5xx(command, fields, lang):
    got = call(APP, f"/api/{command}", [*fields, ("lang", lang)])
    assert got.status in (200, 400, 404, 405), got.body
    doc = got.json()
    assert ("error" in doc) == (got.status != 200)
    if "error" in doc:
        assert "\n" not in doc["error"]["message"] and doc["error"]["message"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.dictionaries(
            st.one_of(
                st.sampled_from([*_NAMES, "config", "config_name", "lang"]), st.text(max_size=8)
            ),
            _json,
            max_size=5,
        ),
        _json,
        st.binary(max_size=60),
    ),
    command=st.sampled_from(["plan", "recommend", "model", "gpus"]),
)
def test_no_body_gets_a_5xx(body, command):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    got = call(APP, f"/api/{command}", method="POST", body=raw)
    assert got.status in (200, 400, 413), got.body
    assert ("error" in got.json()) == (got.status != 200)


def test_the_launch_files_are_the_ones_emit_writes(cli, tmp_path):
    import io
    import zipfile

    printed = cli(
        "plan",
        "qwen2.5-7b",
        "--method",
        "lora",
        "--gpu",
        "3090",
        "--emit",
        str(tmp_path / "out"),
        "--json",
    )
    assert printed.code == 0, printed.err
    got = call(
        APP, "/api/plan/emit", [("model", "qwen2.5-7b"), ("method", "lora"), ("gpu", "3090")]
    )
    assert got.status == 200 and got.headers["content-type"] == "application/zip"
    assert "gpuwise-plan-launch.zip" in got.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(got.body))
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert sorted(archive.namelist()) == written and "train.py" in written
    for name in written:
        assert archive.read(name) == (tmp_path / "out" / name).read_bytes(), name
    assert archive.getinfo("launch.sh").external_attr >> 16 & 0o100  # still executable
    assert not list(Path(tempfile.gettempdir()).glob("gpuwise-web-emit-*"))  # nothing left


@pytest.mark.parametrize(
    ("path", "fields", "words"),
    [
        ("/api/plan/emit", [("model", "7b")], ["7b"]),  # a bare size: no model to load
        ("/api/gpus/emit", [], ["plan", "recommend"]),
        ("/api/plan/emit", [("model", "qwen2.5-7b"), ("emit", "/tmp/x")], ["emit"]),
    ],
)
def test_the_launch_files_refused_are_one_line(path, fields, words):
    got = call(APP, path, fields)
    assert got.status in (400, 404)
    message = got.json()["error"]["message"]
    assert all(w in message for w in words) and "\n" not in message


@settings(max_examples=100, deadline=None)
@given(accept=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_any_accept_language_is_one_language_or_the_other(accept):
    got = call(APP, "/api/gpu", [("name", "nonesuch")], headers={"accept-language": accept})
    assert got.status == 400
    message = got.json()["error"]["message"]
    chinese = any("\u4e00" <= c <= "\u9fff" for c in message)
    assert chinese == api.language_of(None, accept).startswith("zh")


def test_every_answer_carries_the_pages_safety_headers():
    for path in ("/", "/static/app.js", "/api/gpus", "/api/nope"):
        got = call(APP, path)
        assert "script-src 'self'" in got.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in got.headers["content-security-policy"]
        assert got.headers["x-content-type-options"] == "nosniff"
