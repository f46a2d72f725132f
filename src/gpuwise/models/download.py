"""``--download``: fetch one model's config.json, and nothing else, from a hub.

- Hugging Face: ``<endpoint>/<org>/<name>/resolve/main/config.json``, the endpoint being
  ``$HF_ENDPOINT`` (a mirror such as https://hf-mirror.com) or https://huggingface.co, as
  ``huggingface_hub`` builds it.
- ModelScope: ``<endpoint>/api/v1/models/<org>/<name>/repo?Revision=master&FilePath=config.json``,
  the URL ``modelscope``'s ``get_file_download_url`` builds; the endpoint is
  https://www.modelscope.cn, or ``$MODELSCOPE_DOMAIN`` as ``modelscope`` reads it (a domain,
  given https://, or a whole ``http(s)://`` URL).

Standard library only (urllib, with the proxies the environment names), imported only when a
download is asked for. The answer is read up to the config limit (4 MiB) within a timeout per
read and an overall deadline; every way it can fail is one line naming the URL tried and what
to do instead.
"""

from __future__ import annotations

import os
import time

from gpuwise import files
from gpuwise._version import __version__
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, known

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Seconds a connection or one read may wait, and the most a whole download may take.
TIMEOUT_S = 15.0
DEADLINE_S = 60.0
HF_ENDPOINT = "https://huggingface.co"
MODELSCOPE_ENDPOINT = "https://www.modelscope.cn"
LIMIT = files.LIMITS["config"]
_CHUNK = 64 * 1024


def endpoint(source: str) -> str:
    """The base URL ``source`` ("huggingface" or "modelscope") is fetched from."""
    if source == "modelscope":
        variable, default = "MODELSCOPE_DOMAIN", MODELSCOPE_ENDPOINT
        raw = os.environ.get(variable, "")
        if raw and not raw.startswith(("http://", "https://")):
            raw = "https://" + raw
    else:
        variable, default = "HF_ENDPOINT", HF_ENDPOINT
        raw = os.environ.get(variable, "")
    if not raw:
        return default
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(raw)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        usable = usable and not parts.query and not parts.fragment
    except ValueError:
        usable = False
    if not usable or any(c.isspace() for c in raw):
        example = "https://hf-mirror.com" if source == "huggingface" else "www.modelscope.cn"
        raise GpuwiseError(
            Message(
                "download.bad_endpoint", variable=variable, value=repr(raw[:80]), example=example
            )
        )
    return raw.rstrip("/")


def config_url(org: str, name: str, source: str) -> str:
    """The URL of ``org/name``'s config.json on ``source`` (parts of a checked id)."""
    base = endpoint(source)
    if source == "modelscope":
        return f"{base}/api/v1/models/{org}/{name}/repo?Revision=master&FilePath=config.json"
    return f"{base}/{org}/{name}/resolve/main/config.json"


def advice(source: str) -> Message:
    """What to do when ``source`` cannot give the config."""
    if source == "modelscope":
        return Message("download.advice.modelscope")
    return Message("download.advice.huggingface")


def fetch_config(org: str, name: str, source: str) -> tuple[str, bytes, dict[str, Any]]:
    """``(url, bytes, parsed config)`` of ``org/name``'s config.json from ``source``."""
    url = config_url(org, name, source)
    data = _get(url, source)
    answer, expected = Message("download.the_answer"), Message("download.a_config")
    try:
        config = files.parse_json(files.decode(data, answer, expected), answer, expected)
    except GpuwiseError as e:
        raise GpuwiseError(
            Message("download.not_a_config", url=url, problem=e.message, advice=advice(source))
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        what = (
            Message("download.an_object")
            if isinstance(config, dict)
            else Message("download.json_of", kind=type(config).__name__)
        )
        raise GpuwiseError(
            Message("download.no_model_type", url=url, what=what, advice=advice(source))
        )
    return url, data, config


def _get(url: str, source: str) -> bytes:
    """The body of ``url``, at most :data:`LIMIT` bytes, or a one-line error."""
    import http.client
    import urllib.error
    import urllib.request

    class OnlyHttp(urllib.request.HTTPRedirectHandler):
        """Follows a redirect only to another http(s) URL."""

        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            if not newurl.lower().startswith(("http://", "https://")):
                raise GpuwiseError(Message("download.bad_redirect", url=url, target=newurl[:120]))
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    request = urllib.request.Request(
        url, headers={"User-Agent": f"gpuwise/{__version__}", "Accept": "application/json"}
    )
    opener = urllib.request.build_opener(OnlyHttp)
    tips = advice(source)
    deadline = time.monotonic() + DEADLINE_S
    try:
        with opener.open(request, timeout=TIMEOUT_S) as answer:
            length = answer.headers.get("Content-Length", "")
            if length.strip().isascii() and length.strip().isdigit() and int(length) > LIMIT:
                raise GpuwiseError(_too_big(url, int(length)))
            chunks: list[bytes] = []
            total = 0
            # read1: what one read of the socket gives, so the deadline is checked between them
            read = getattr(answer, "read1", answer.read)
            while total <= LIMIT:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = read(min(_CHUNK, LIMIT + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            if total > LIMIT:
                raise GpuwiseError(_too_big(url, None))
            return b"".join(chunks)
    except urllib.error.HTTPError as e:
        raise GpuwiseError(_refused(url, e.code, str(e.reason), source)) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise GpuwiseError(_late(url, tips)) from None
        why = getattr(e.reason, "strerror", None) or str(e.reason)
        raise GpuwiseError(
            Message("download.unreachable", url=url, why=known("os.", why), advice=tips)
        ) from None
    except TimeoutError:
        raise GpuwiseError(_late(url, tips)) from None
    except (http.client.HTTPException, OSError, ValueError) as e:
        why = getattr(e, "strerror", None) or str(e) or e.__class__.__name__
        raise GpuwiseError(
            Message("download.failed", url=url, why=known("os.", why), advice=tips)
        ) from None


def _late(url: str, tips: Message) -> Message:
    return Message(
        "download.late", url=url, timeout=f"{TIMEOUT_S:g}", deadline=f"{DEADLINE_S:g}", advice=tips
    )


def _too_big(url: str, size: int | None) -> Message:
    limit = LIMIT // files.MIB
    if size is None:
        return Message("download.too_big", url=url, limit=limit)
    return Message("download.too_big_said", url=url, limit=limit, size=f"{size:,}")


def _refused(url: str, code: int, reason: str, source: str) -> Message:
    if code == 404:
        return Message("download.not_found", url=url, advice=advice(source))
    if code in (401, 403):
        return Message("download.refused", url=url, code=code)
    return Message("download.http_error", url=url, code=code, reason=reason, advice=advice(source))
