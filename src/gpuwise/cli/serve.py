"""``gpuwise serve``: the web page on this machine (the ``web`` extra)."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, t


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help=help_text("cli.command.serve"),
        description=help_text("web.serve.description"),
        epilog=help_text("web.serve.epilog"),
    )
    p.add_argument("--port", type=int, default=8000, help=help_text("web.serve.opt.port"))
    p.add_argument("--host", default="127.0.0.1", help=help_text("web.serve.opt.host"))
    p.add_argument("--open", action="store_true", help=help_text("web.serve.opt.open"))
    p.set_defaults(run=run)


def listen(host: str, port: int) -> object:
    """A socket listening on ``host``:``port``, or one line saying why not."""
    import socket

    if not 0 <= port <= 65535:
        raise GpuwiseError(Message("web.bad_port", port=port), code="usage")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except (OSError, UnicodeError) as e:
        why = getattr(e, "strerror", None) or str(e)
        raise GpuwiseError(Message("web.cannot_listen", host=host, port=port, why=why)) from None
    return sock


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from gpuwise.web.app import create_app
    except ImportError as e:
        raise GpuwiseError(Message("web.needs_extra", missing=e.name or "starlette")) from None
    sock = listen(args.host, args.port)
    port = sock.getsockname()[1]  # type: ignore[attr-defined]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    config = uvicorn.Config(create_app(args.host), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    print(t("web.serving", url=url), flush=True)
    if args.open:
        import threading
        import webbrowser

        threading.Timer(0.3, webbrowser.open, (url,)).start()
    server.run(sockets=[sock])  # type: ignore[list-item]
    return 0
