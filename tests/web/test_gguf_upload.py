"""A GGUF model sent to `gpuwise serve` as its header (the file's first bytes and its whole
size): the documents of ``gpuwise model FILE.gguf`` and ``plan FILE.gguf`` byte for byte, and
every bad upload one line (4xx), never a 5xx."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("gguf", reason="the gguf package writes the test's model file")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.models.gguf_file import read_header
from gpuwise.web import api
from gpuwise.web.app import create_app
from tests.models.test_gguf_file import write_tiny
from tests.web.asgi import call

APP = create_app()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp("gguf") / "tiny-q4.gguf")


def upload(path_or_bytes, size, query=(), command="plan", name="tiny-q4.gguf"):
    head = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    fields = [*query, ("gguf_name", name), ("gguf_size", str(size))]
    path = f"/api/{command}?" + "&".join(f"{k}={v}" for k, v in fields)
    return call(
        APP,
        path.split("?")[0],
        fields,
        method="POST",
        body=head,
        headers={"content-type": "application/octet-stream"},
    )


def header_only(path) -> bytes:
    """The file's header: what the page sends of a model file, never its weights."""
    return path.read_bytes()[: read_header(str(path)).data_offset]


@pytest.mark.parametrize(
    ("command", "words", "fields"),
    [
        ("model", [], []),
        ("plan", ["--task", "infer"], [("task", "infer")]),
        (
            "plan",
            ["--task", "infer", "--gpu", "3090", "--batch", "4", "--tokens", "1M"],
            [("task", "infer"), ("gpu", "3090"), ("batch", "4"), ("tokens", "1M")],
        ),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_header_alone_is_the_model_file_on_the_command_line(
    cli, tiny, command, words, fields, lang
):
    printed = cli(command, str(tiny), *words, "--json", "--lang", lang)
    assert printed.code == 0, printed.err
    size = tiny.stat().st_size
    for head in (header_only(tiny), tiny.read_bytes()):  # the header, or the whole file
        got = upload(head, size, [*fields, ("lang", lang)], command)
        assert got.status == 200, got.body
        text = got.body.decode()
        assert text.strip() == printed.out.strip().replace(str(tiny.parent) + "/", "")
        assert "gpuwise-web-" not in text  # the temporary folder is not shown


def test_the_answer_says_how_many_bytes_the_header_takes(tiny):
    header = read_header(str(tiny)).data_offset
    for head in (tiny.read_bytes(), header_only(tiny)):
        got = upload(head, tiny.stat().st_size, [("gpu", "3090"), ("task", "infer")])
        assert got.status == 200
        assert got.headers["x-gguf-header-bytes"] == str(header)  # all the next request sends


def test_a_header_cut_short_is_the_readers_one_line(tiny):
    head = header_only(tiny)[:-40]
    got = upload(head, tiny.stat().st_size)
    assert got.status == 400
    message = got.json()["error"]["message"]
    assert "tiny-q4.gguf" in message and "\n" not in message and "gpuwise-web-" not in message


@pytest.mark.parametrize("size", ["", "x", "-1", "10", "1e9", str(1 << 60)])
def test_a_size_that_is_not_the_files_is_one_line(tiny, size):
    got = upload(header_only(tiny), size)
    assert got.status == 400
    message = got.json()["error"]["message"]
    assert message.startswith("gguf_size") and "\n" not in message


def test_more_than_a_header_is_a_413_with_one_line(tiny, monkeypatch):
    monkeypatch.setattr(api, "GGUF_LIMIT", 4096)
    got = upload(tiny.read_bytes(), tiny.stat().st_size)
    assert got.status == 413
    assert "4,096" in got.json()["error"]["message"]


def test_the_launch_files_of_an_upload_are_refused_in_one_line(tiny):
    got = upload(header_only(tiny), tiny.stat().st_size, command="plan/emit")
    assert got.status == 400 and "\n" not in got.json()["error"]["message"]


def test_a_json_file_sent_as_a_model_file_is_the_readers_one_line():
    got = upload(b'{"model_type": "llama"}', 23, name="config.gguf")
    assert got.status == 400
    assert "config.gguf" in got.json()["error"]["message"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: b"GGUF\x03\x00\x00\x00" + b),
    ),
    size=st.one_of(st.integers(-5, 1 << 44).map(str), st.text(max_size=30)),
    name=st.text(max_size=40),
)
def test_no_upload_gets_a_5xx(head, size, name):
    got = upload(head, size, name=name)
    assert got.status in (200, 400), got.body
    if got.status == 400:
        assert "\n" not in got.json()["error"]["message"]


@pytest.mark.parametrize("size", ["", "x", "10"])
def test_a_bad_upload_is_one_chinese_line_in_chinese(tiny, size, monkeypatch):
    from tests.i18n.checks import leftover_english

    got = upload(header_only(tiny), size, [("lang", "zh")])
    assert got.status == 400
    message = got.json()["error"]["message"]
    assert "文件" in message and not leftover_english(message), message
    monkeypatch.setattr(api, "GGUF_LIMIT", 4096)
    got = upload(tiny.read_bytes(), tiny.stat().st_size, [("lang", "zh")])
    assert got.status == 413
    message = got.json()["error"]["message"]
    assert "4,096" in message and not leftover_english(message), message


def test_the_header_is_read_from_the_bytes_sent_alone(tiny, tmp_path):
    """Every cut of the file short of its header's end is refused in one line (never read on
    from a hole as zeros); from the header's end on, the header is the whole file's."""
    from gpuwise.errors import GpuwiseError
    from gpuwise.models.gguf_file import read_header_start

    data, whole = tiny.read_bytes(), read_header(str(tiny))
    cut_file = tmp_path / "cut.gguf"
    ends = sorted({*range(0, whole.data_offset, 97), whole.data_offset - 1})
    for end in ends:
        cut_file.write_bytes(data[:end])
        try:
            got = read_header_start(str(cut_file), len(data))
        except GpuwiseError as e:
            assert "\n" not in e.text()
            continue
        # a cut inside the padding after the last tensor info: the header is all there
        assert got.tensors == whole.tensors and got.data_offset == whole.data_offset, end
    for end in (whole.data_offset, whole.data_offset + 100, len(data)):
        cut_file.write_bytes(data[:end])
        got = read_header_start(str(cut_file), len(data))
        assert got.tensors == whole.tensors and got.metadata == whole.metadata


def test_the_header_alone_after_the_whole_file_is_the_file_kept(tiny):
    size = tiny.stat().st_size
    assert upload(tiny.read_bytes(), size, [("task", "infer")]).status == 200
    kept = sorted(os.listdir(api._uploads_root()))
    got = upload(header_only(tiny), size, [("task", "infer")])
    assert got.status == 200 and sorted(os.listdir(api._uploads_root())) == kept
