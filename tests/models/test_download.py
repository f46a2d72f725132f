"""``--download``: only config.json, from the Hugging Face hub ($HF_ENDPOINT) or ModelScope
($MODELSCOPE_DOMAIN), kept for the next run; one line for every way it fails.

No network: a local ``http.server`` in a thread stands in for the hubs, serving each path as the
hub would (a config, a 404, a gated 401, a huge body, HTML, an answer that never comes).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import download, load_model
from tests.checks import TINY_CONFIG, fixture_ok, one_line

CONFIG = TINY_CONFIG
MIB = 1 << 20


class Hub(BaseHTTPRequestHandler):
    """Answers by the model name in the path (``/acme/<name>/...``)."""

    release = threading.Event()
    seen: ClassVar[list[str]] = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        Hub.seen.append(self.path)
        name = self.path.split("/")[2] if self.path.startswith("/acme/") else ""
        if self.path.startswith("/api/v1/models/acme/"):
            name = self.path.split("/")[5]
            if not self.path.endswith("/repo?Revision=master&FilePath=config.json"):
                return self._send(400, b"bad request")
        elif not self.path.endswith("/resolve/main/config.json"):
            return self._send(400, b"bad request")
        if name == "tiny":
            return self._send(200, json.dumps(CONFIG).encode())
        if name == "gated":
            return self._send(401, b'{"error": "Access to model acme/gated is restricted."}')
        if name == "huge":
            return self._send(200, b" " * (4 * MIB + 1))
        if name == "huge-unsaid":  # no Content-Length: the read itself stops at the limit
            self.send_response(200)
            self.end_headers()
            for _ in range(5):
                self.wfile.write(b" " * MIB)
            return None
        if name == "html":
            return self._send(200, b"<html><body>Please log in</body></html>")
        if name == "not-a-config":
            return self._send(200, b'{"Code": 10010205001, "Success": false}')
        if name == "drip":  # each byte in time, the whole answer never
            self.send_response(200)
            self.end_headers()
            for _ in range(200):
                if Hub.release.wait(0.05):
                    break
                self.wfile.write(b" ")
                self.wfile.flush()
            return None
        if name == "slow":
            Hub.release.wait(10)
            return self._send(200, json.dumps(CONFIG).encode())
        if name.startswith("moved-"):
            self.send_response(302)
            self.send_header(
                "Location", {"file": "file:///etc/passwd", "ftp": "ftp://x/y"}[name[6:]]
            )
            self.end_headers()
            return None
        if name == "broken":
            return self._send(500, b"oops")
        return self._send(404, b"Entry not found")

    def _send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    """The hub's server: gpuwise hanging up on a huge or dripping answer (as it should) is no
    error to print, and socketserver's traceback of it on stderr would land in the command's
    captured stderr, where the tests look for tracebacks."""

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A local hub; HF_ENDPOINT and MODELSCOPE_DOMAIN point at it; empty caches."""
    server = _QuietServer(("127.0.0.1", 0), Hub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("MODELSCOPE_DOMAIN", url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    Hub.release.clear()
    Hub.seen.clear()
    yield url
    Hub.release.set()
    server.shutdown()
    server.server_close()


def refused(name: str, source: str = "huggingface") -> str:
    with pytest.raises(GpuwiseError) as e:
        load_model(name, download=True, source=source)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_downloads_config_json_and_keeps_it(hub, tmp_path):
    spec = load_model("acme/tiny", download=True)
    url = f"{hub}/acme/tiny/resolve/main/config.json"
    saved = tmp_path / "xdg/gpuwise/configs/huggingface/acme/tiny/config.json"
    assert str(spec.source) == f"downloaded from {url} (saved as {saved})"
    assert json.loads(saved.read_text()) == CONFIG
    assert Hub.seen == ["/acme/tiny/resolve/main/config.json"]  # that file, nothing else
    assert spec.params == load_model(str(saved)).params > 0


def test_the_next_run_needs_no_network(hub, tmp_path, monkeypatch):
    first = load_model("acme/tiny", download=True)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    again = load_model("acme/tiny")  # no --download, no hub
    assert again.params == first.params
    assert str(again.source).startswith("saved download from huggingface (")
    assert len(Hub.seen) == 1


def test_modelscope_source(hub, tmp_path):
    spec = load_model("acme/tiny", download=True, source="modelscope")
    assert Hub.seen == ["/api/v1/models/acme/tiny/repo?Revision=master&FilePath=config.json"]
    saved = tmp_path / "xdg/gpuwise/configs/modelscope/acme/tiny/config.json"
    assert saved.is_file() and str(saved) in str(spec.source)


def test_nothing_is_fetched_without_download(hub):
    with pytest.raises(GpuwiseError, match="add --download"):
        load_model("acme/tiny")
    assert Hub.seen == []


def test_404_names_the_url_and_what_to_do(hub):
    message = refused("acme/absent")
    assert f"{hub}/acme/absent/resolve/main/config.json answered HTTP 404" in message
    assert "--source modelscope" in message and "HF_ENDPOINT=https://hf-mirror.com" in message
    assert "download config.json by hand" in message


def test_404_on_modelscope(hub):
    message = refused("acme/absent", "modelscope")
    assert "/api/v1/models/acme/absent/repo?Revision=master&FilePath=config.json" in message
    assert "HTTP 404" in message and "without --source modelscope" in message


def test_gated_model(hub):
    message = refused("acme/gated")
    assert "HTTP 401" in message and "download config.json by hand" in message


@pytest.mark.parametrize("name", ["huge", "huge-unsaid"])
def test_huge_body_is_refused_at_the_limit(hub, tmp_path, name):
    assert "more than the 4 MiB" in refused(f"acme/{name}")
    assert not (tmp_path / "xdg/gpuwise/configs/huggingface/acme" / name).exists()


@pytest.mark.parametrize(
    "name,says", [("html", "not valid JSON"), ("not-a-config", "without a 'model_type'")]
)
def test_answer_that_is_not_a_config(hub, tmp_path, name, says):
    message = refused(f"acme/{name}")
    assert says in message and f"{hub}/acme/{name}/resolve/main/config.json" in message
    assert not (tmp_path / "xdg/gpuwise/configs/huggingface/acme" / name).exists()


def test_timeout(hub):
    message = refused("acme/slow")
    assert f"no answer from {hub}/acme/slow/resolve/main/config.json within 0.5 s" in message


def test_an_answer_that_never_ends_meets_the_deadline(hub, monkeypatch):
    monkeypatch.setattr(download, "DEADLINE_S", 0.3)
    start = time.monotonic()
    message = refused("acme/drip")
    assert time.monotonic() - start < 3  # the server would drip for 10 s
    assert f"no answer from {hub}/acme/drip/resolve/main/config.json" in message


def test_server_error(hub):
    assert "HTTP 500" in refused("acme/broken")


@pytest.mark.parametrize("to", ["file", "ftp"])
def test_redirect_elsewhere_than_http_is_not_followed(hub, to):
    message = refused(f"acme/moved-{to}")
    assert f"{hub}/acme/moved-{to}/resolve/main/config.json" in message
    assert "not allowed" in message or "not an http(s) URL" in message


def closed_port_url() -> str:
    """An address where nothing listens (a port just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_offline(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    message = refused("acme/tiny")
    assert message.startswith("could not reach http://127.0.0.1:")
    assert "--source modelscope" in message and "HF_ENDPOINT=https://hf-mirror.com" in message


@pytest.mark.parametrize("value", ["hf-mirror.com", "ftp://x", "https://", "https://a b"])
def test_hf_endpoint_that_is_not_a_url(hub, monkeypatch, value):
    monkeypatch.setenv("HF_ENDPOINT", value)
    message = refused("acme/tiny")
    assert "$HF_ENDPOINT" in message and "HF_ENDPOINT=https://hf-mirror.com" in message


def test_modelscope_domain_is_a_domain_as_modelscope_reads_it(monkeypatch):
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "www.modelscope.ai")
    assert download.endpoint("modelscope") == "https://www.modelscope.ai"
    monkeypatch.delenv("MODELSCOPE_DOMAIN")
    assert download.endpoint("modelscope") == "https://www.modelscope.cn"
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert download.config_url("a", "b", "huggingface") == (
        "https://huggingface.co/a/b/resolve/main/config.json"
    )


def test_a_preset_is_never_downloaded(hub):
    assert load_model("Qwen/Qwen2.5-7B", download=True).name == "qwen2.5-7b"
    assert Hub.seen == []


@pytest.mark.parametrize("name", ["acme/..", "acme/.hidden", "acme/a..b"])
def test_ids_that_could_leave_the_cache_are_refused(hub, name):
    assert "not a usable hub id" in refused(name)
    assert Hub.seen == []


def test_unwritable_cache_still_plans_and_says_so(hub, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no folder can be made in it
    spec = load_model("acme/tiny", download=True)
    assert spec.params > 0
    assert any("not kept for the next run" in str(a) for a in spec.assumptions)


def test_a_saved_config_leading_out_of_the_cache_is_not_read(hub, tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps(CONFIG))
    folder = tmp_path / "xdg/gpuwise/configs/huggingface/acme/other"
    folder.mkdir(parents=True)
    (folder / "config.json").symlink_to(outside)
    with pytest.raises(GpuwiseError, match="add --download"):
        load_model("acme/other")


@fixture_ok
@given(body=st.binary(max_size=200))
def test_any_answer_is_a_config_or_one_line(hub, monkeypatch, body):
    """Whatever bytes the hub answers with: a model, or one line naming the URL."""
    monkeypatch.setattr(download, "_get", lambda url, source: body)
    try:
        _, data, config = download.fetch_config("acme", "any", "huggingface")
    except GpuwiseError as e:
        assert "\n" not in str(e) and "/acme/any/resolve/main/config.json" in str(e)
    else:
        assert data == body and isinstance(config["model_type"], str)


def test_cli_download_flag_on_every_command(hub, cli, monkeypatch):
    r = cli("model", "acme/tiny", "--json")
    one_line(r, "add --download")
    r = cli("model", "acme/tiny", "--download", "--json")
    assert r.code == 0, r.err
    assert r.json()["params"] > 0
    for command in (["plan"], ["recommend"], ["probe", "--simulate"]):
        r = cli(*command, "acme/absent", "--download", "--source", "modelscope", "--json")
        one_line(r, "/api/v1/models/acme/absent/repo", "HTTP 404")


def test_cli_source_without_download(cli):
    one_line(cli("model", "acme/tiny", "--source", "modelscope"), "add --download")


@pytest.mark.parametrize("source", ["hf", "../../elsewhere", ""])
def test_unknown_source_is_refused_before_any_path_is_made(hub, tmp_path, source):
    with pytest.raises(GpuwiseError, match="give one of huggingface, modelscope"):
        load_model("acme/tiny", download=True, source=source)
    assert Hub.seen == [] and not (tmp_path / "xdg").exists()


@pytest.mark.parametrize(
    ("name", "source", "says"),
    [
        ("absent", "huggingface", "HTTP 404"),
        ("absent", "modelscope", "HTTP 404"),
        ("gated", "huggingface", "许可协议"),
        ("huge", "huggingface", "4 MiB"),
        ("html", "huggingface", "不是有效的 JSON"),
        ("not-a-config", "huggingface", "'model_type'"),
        ("slow", "huggingface", "秒内没有响应"),
    ],
)
def test_every_way_a_download_fails_is_one_chinese_line(cli, hub, name, source, says):
    """What a reader in China meets most: the hub unreachable, a gated model, a wrong id. Each
    is one line in Chinese, naming the URL and what to try (a mirror, ModelScope, by hand)."""
    from tests.i18n.checks import leftover_english

    args = ["model", f"acme/{name}", "--download", "--source", source, "--lang", "zh"]
    r = cli(*args)
    one_line(r, "错误", says, hub)
    said = r.err.split("错误：", 1)[1]
    assert leftover_english(said, ["acme", name, "Forbidden", "Not Found", "Unauthorized"]) == []


def test_an_offline_hub_is_said_in_chinese(cli, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    r = cli("model", "acme/tiny", "--download", "--lang", "zh")
    one_line(r, "错误", "无法", "hf-mirror.com", "--source modelscope")
