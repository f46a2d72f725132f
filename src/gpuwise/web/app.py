"""The web application of `gpuwise serve` (Starlette): the page, its catalogue, the JSON API.

- ``GET /``: the page; ``/static/...``: its scripts, styles and the vendored chart library,
  only from the package's ``static`` folder.
- ``GET /api/messages?lang=zh``: the page's labels (the catalogue's ``web`` area) in a language.
- ``GET /api/COMMAND?field=value...`` or ``POST /api/COMMAND`` with a JSON object of fields:
  the command's ``--json`` document (:mod:`gpuwise.web.api`); ``GET /api/openapi.json``.
- ``POST /api/COMMAND?field=value...&gguf_name=NAME&gguf_size=BYTES`` with the first bytes of
  a .gguf file (``application/octet-stream``, at most :data:`api.GGUF_LIMIT`): that model.
- Every error is JSON, ``{"schema_version", "gpuwise_version", "error": {"code", "message"}}``
  with one line in the language asked for: 400 for bad input (the command line's own line),
  404, 405, 413 for a body over :data:`MAX_BODY`, 421 for a Host this server does not answer
  for (a page elsewhere reaching it through DNS rebinding). Never a traceback.
"""

from __future__ import annotations

import json
import os
import sys

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gpuwise.errors import GpuwiseError
from gpuwise.files import LIMITS
from gpuwise.i18n import Message
from gpuwise.web import api

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from starlette.types import ASGIApp, Receive, Scope, Send

STATIC = os.path.join(os.path.dirname(__file__), "static")
#: The largest config.json taken: the command line's limit for a config file.
CONFIG_LIMIT = LIMITS["config"]
#: The largest request body: a config.json's text, JSON-escaped, and the fields.
MAX_BODY = 2 * CONFIG_LIMIT + 64 * 1024
#: The hosts a request may name when the server listens on loopback.
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_JSON = "application/json; charset=utf-8"
#: On every answer: the page runs only its own scripts, talks only to this server, is framed by
#: no other page; no answer is sniffed into another type.
_SAFE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def _error(status: int, message: Message, language: str, code: str = "usage") -> Response:
    from gpuwise.i18n import render
    from gpuwise.render.document import dumps, envelope

    text = render(message.key, message.params, language)
    return Response(
        dumps(envelope(error={"code": code, "message": text})), status, media_type=_JSON
    )


def _refused(status: int, e: GpuwiseError, language: str) -> Response:
    from gpuwise.render.document import dumps, envelope

    text = dumps(envelope(error={"code": e.code, "message": e.text(language)}))
    return Response(text, status, media_type=_JSON)


def _language(request: Request, asked: str | None = None) -> str:
    """The language a request asks for; a bad ``lang`` is English here (the API refuses it)."""
    try:
        return api.language_of(asked, _accept(request))
    except GpuwiseError:
        return "en"


async def index(request: Request) -> Response:
    return FileResponse(os.path.join(STATIC, "index.html"), media_type="text/html; charset=utf-8")


async def messages(request: Request) -> Response:
    """The page's labels in the language asked for (``lang``, else Accept-Language)."""
    from gpuwise.web.page import page_messages

    try:
        language = api.language_of(request.query_params.get("lang"), _accept(request))
    except GpuwiseError as e:
        return _refused(400, e, "en")
    body = {"lang": language, "messages": page_messages(language)}
    return Response(json.dumps(body, ensure_ascii=False), media_type=_JSON)


def _accept(request: Request) -> str | None:
    return request.headers.get("accept-language")


async def openapi(request: Request) -> Response:
    from gpuwise.web.openapi import description

    return Response(json.dumps(description(), ensure_ascii=False), media_type=_JSON)


async def command(request: Request) -> Response:
    """``/api/COMMAND``: the command's document for the fields of the query or the body;
    ``/api/COMMAND/emit`` (plan, recommend): the launch files ``--emit`` writes, zipped."""
    name = request.path_params["command"]
    emit = request.url.path.endswith("/emit")
    fields = list(request.query_params.multi_items())
    asked = request.query_params.get("lang")
    config = gguf = None
    binary = request.headers.get("content-type", "").startswith("application/octet-stream")
    if request.method == "POST" and binary:
        head = await _body(request, api.GGUF_LIMIT)
        if head is None:
            return _error(
                413,
                Message("web.gguf_too_large", limit=f"{api.GGUF_LIMIT:,}"),
                _language(request, asked),
                "invalid_input",
            )
        named = dict(fields)
        gguf = (named.get("gguf_name", ""), head, named.get("gguf_size", ""))
        fields = [(k, v) for k, v in fields if k not in ("gguf_name", "gguf_size")]
    elif request.method == "POST":
        body = await _body(request)
        if body is None:
            return _error(
                413,
                Message("web.too_large", limit=f"{MAX_BODY:,}", config_limit=f"{CONFIG_LIMIT:,}"),
                _language(request, asked),
                "invalid_input",
            )
        try:
            more, asked_in_body, config = _fields(body)
        except GpuwiseError as e:
            return _refused(400, e, _language(request, asked))
        fields += more
        asked = asked_in_body if asked_in_body is not None else asked
    fields = [(k, v) for k, v in fields if k != "lang"]
    try:
        language = api.language_of(asked, _accept(request))
    except GpuwiseError as e:
        return _refused(400, e, "en")
    found = api.answer(name, fields, language, config, emit, gguf)
    status = 404 if found.status == 400 and name not in api.served() else found.status
    if found.header_bytes is not None:  # the next request about this file sends no more
        headers = {"x-gguf-header-bytes": str(found.header_bytes)}
        return Response(found.text, status, media_type=_JSON, headers=headers)
    if found.files is not None:
        attachment = {"content-disposition": f'attachment; filename="gpuwise-{name}-launch.zip"'}
        return Response(found.files, status, media_type="application/zip", headers=attachment)
    return Response(found.text, status, media_type=_JSON)


async def _body(request: Request, most: int = MAX_BODY) -> bytes | None:
    """The request body, or None when it is larger than ``most`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > most:
        return None
    got = bytearray()
    async for chunk in request.stream():
        got += chunk
        if len(got) > most:
            return None
    return bytes(got)


def _fields(body: bytes) -> tuple[list[tuple[str, str]], str | None, tuple[str, str] | None]:
    """A POST body's fields, its ``lang`` and its ``config`` (name, text)."""
    if not body.strip():
        return [], None, None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:
        problem = str(e) if isinstance(e, ValueError) else "nested too deep"
        raise GpuwiseError(Message("web.bad_body", problem=problem[:200])) from None
    if not isinstance(data, dict):
        raise GpuwiseError(Message("web.bad_body", problem=type(data).__name__))
    fields: list[tuple[str, str]] = []
    language = config_text = None
    config_name = "config.json"
    for key, value in data.items():
        if key == "config":
            if value is None:
                continue
            config_text = value if isinstance(value, str) else json.dumps(value)
        elif key == "config_name":
            config_name = value if isinstance(value, str) else config_name
        elif key == "lang":
            language = value if isinstance(value, str) else repr(value)
        else:
            fields += [(key, v) for v in _values(key, value)]
    return fields, language, (config_name, config_text) if config_text is not None else None


def _values(key: str, value: Any) -> list[str]:
    """A body field's value(s) as the command line would write them."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float, str)):
            out.append(item if isinstance(item, str) else json.dumps(item))
        else:
            raise GpuwiseError(Message("web.bad_value", field=repr(key)[:80]))
    return out


class Guard:
    """Around the application: a Host this server does not answer for is refused (421), and
    whatever escapes a handler is one JSON line (500), never a traceback."""

    def __init__(self, app: ASGIApp, hosts: tuple[str, ...] | None) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.hosts is not None:
            host = request.headers.get("host", "")
            bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if bare.lower() not in self.hosts:
                message = Message("web.bad_host", hosts=", ".join(self.hosts), host=repr(host))
                await _error(421, message, _language(request))(scope, receive, send)
                return
        started = False

        async def sending(message: Any) -> None:
            nonlocal started
            started = True
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_SAFE_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as e:  # a bug: one JSON line to the page, one line on the console
            what = f"{type(e).__name__}: {e}"[:300]
            print(f"gpuwise serve: {request.url.path}: {what}", file=sys.stderr)
            if not started:
                await _bug(request, e)(scope, receive, send)


def _bug(request: Request, exc: Exception) -> Response:
    what = f"{type(exc).__name__}: {exc}"[:300]
    return _error(500, Message("web.internal", what=what), "en", "internal_error")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    language = _language(request, request.query_params.get("lang"))
    if exc.status_code == 405:
        return _error(405, Message("web.bad_method", method=request.method), language)
    return _error(
        exc.status_code, Message("web.not_found", path=repr(request.url.path)[:200]), language
    )


def create_app(host: str = "127.0.0.1") -> ASGIApp:
    """The application; listening on ``host``, it answers only for the names of that host
    (loopback: 127.0.0.1, localhost, [::1]; 0.0.0.0 or :: answers for any)."""
    routes = [
        Route("/", index),
        Route("/api/messages", messages),
        Route("/api/openapi.json", openapi),
        Route("/api/{command}", command, methods=["GET", "POST"]),
        Route("/api/{command}/emit", command, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _bug})
    hosts: tuple[str, ...] | None = None
    if host in ("0.0.0.0", "::", ""):
        pass
    elif host in ("127.0.0.1", "localhost", "::1"):
        hosts = LOOPBACK
    else:
        hosts = (f"[{host}]" if ":" in host else host).lower(), *LOOPBACK
    return Guard(app, hosts)
