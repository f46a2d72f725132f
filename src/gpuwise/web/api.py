"""The JSON API of `gpuwise serve`: a command's fields -> the document its ``--json`` prints.

A request names a command (``plan``) and gives fields named like the command's flags, without
the dashes (``method=lora``, ``gpu=3090`` repeated, ``grad-checkpointing=true``) or its
positional arguments (``model``, ``name``). They become the words of a command line, which the
command's own argparse parser reads, and the command's own ``document(args)`` answers: the
numbers, the schema and the one-line errors are the command line's, never computed here.

Refused (one line, what is accepted): the flags that read or write files on this machine
(``--catalog``, ``--prices``, ``--market``, ``--emit``), fetch from the network
(``--download``) or run a model's code (``--trust-remote-code``), and a model named by a path
on this machine. A config.json comes in the request itself (``config``: its text), is parsed
as JSON only by the same reader as a file named on the command line, and is written to a
temporary folder for the length of the request; its folder is never shown. A GGUF model
comes as the first bytes of its file (its header: the weights after it are never read) with
the whole file's size: written to a sparse file of that size, kept while the server runs (the
last few), and read by the same reader as ``gpuwise plan FILE.gguf``. The launch files
(``emit``) are written by ``--emit``'s own writer to a temporary folder, zipped and removed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import threading

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import DEFAULT, Message, parse_language

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

#: The commands served, in the order the OpenAPI description lists them; one whose module has
#: no ``document`` (a command not landed yet) is left out.
COMMANDS = ("model", "gpus", "gpu", "plan", "recommend", "doctor", "explain")

#: Flags a request may not give (by name without dashes): files on this machine, the network,
#: a model's own code, and what the API decides itself.
REFUSED = frozenset(
    {
        "catalog",
        "prices",
        "market",
        "emit",
        "force",
        "download",
        "source",
        "trust-remote-code",
        "json",
        "debug",
        "help",
        "version",
    }
)
#: The commands whose launch files (``--emit``) the API gives as a zip archive.
EMITS = ("plan", "recommend")
#: What a request may say for a switch (``--grad-checkpointing``), any case.
_ON = frozenset({"", "1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})
#: An uploaded file's name, as kept: letters, digits, ``.``, ``_``, ``-``.
_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: The most of a GGUF file a request may send: its header (metadata and tensor infos; a
#: 256k-token vocabulary makes a few MiB), never the weights.
GGUF_LIMIT = 32 * 1024 * 1024
#: The largest whole GGUF file an upload may say it is (no model file comes near it; a
#: sparse file of that size takes no disk).
GGUF_MOST = 1 << 42
#: GGUF uploads kept while the server runs (the page asks again with the same one).
_GGUF_KEPT = 4
_gguf_folders: list[str] = []
#: A kept GGUF upload's path -> the bytes its header takes (up to where the weights start).
_gguf_headers: dict[str, int] = {}
#: (digest of the header's bytes alone, whole size, name) -> the kept upload they begin: the
#: page's later requests send the header alone and find the file kept from the first.
_gguf_aliases: dict[tuple[str, int, str], str] = {}

_lock = threading.Lock()
_parsers: dict[str, argparse.ArgumentParser] = {}


class Answer:
    """An HTTP status and the JSON text of a document (or of an error document)."""

    __slots__ = ("files", "header_bytes", "status", "text")

    def __init__(self, status: int, text: str, files: bytes | None = None) -> None:
        self.status = status
        self.text = text
        #: with ``emit``: the launch files ``--emit`` wrote, as a zip archive
        self.files = files
        #: with an uploaded GGUF file: the bytes of its header (what the next request about
        #: the same file needs to send)
        self.header_bytes: int | None = None


def served() -> list[str]:
    """The commands this installation serves (those with a ``document`` seam)."""
    from gpuwise.cli.main import COMMANDS as CLI

    return [c for c in COMMANDS if c in CLI and hasattr(_module(c), "document")]


def _module(command: str) -> Any:
    return importlib.import_module(f"gpuwise.cli.{command}")


def parser_of(command: str) -> argparse.ArgumentParser:
    """The command's own argparse parser (built once)."""
    found = _parsers.get(command)
    if found is None:
        from gpuwise.cli.main import build_parser

        top = build_parser(command)
        sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
        found = _parsers[command] = sub.choices[command]
    return found


def fields_of(command: str) -> dict[str, argparse.Action]:
    """The fields a request for ``command`` may give: each flag by its long name without
    dashes, each positional argument by its name."""
    out: dict[str, argparse.Action] = {}
    for action in parser_of(command)._actions:
        if not action.option_strings:
            out[action.dest] = action
            continue
        longs = [s for s in action.option_strings if s.startswith("--")]
        if longs and longs[0][2:] not in REFUSED and longs[0] != "--lang":
            out[longs[0][2:]] = action
    return out


def language_of(asked: str | None, accept: str | None) -> str:
    """The language of an answer: ``lang`` (as ``--lang`` takes it; anything else is refused
    as the command line refuses it), else the first language of ``Accept-Language`` gpuwise
    speaks (any ``zh`` is Simplified Chinese), else English."""
    if asked is not None:
        found = parse_language(asked)
        if found is None:
            raise GpuwiseError(Message("cli.lang.invalid", value=_shown(asked)), code="usage")
        return found
    for tag in _by_preference(accept or ""):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return DEFAULT


def _by_preference(accept: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (``q``, then order)."""
    ranked = []
    for i, part in enumerate(accept.split(",")[:50]):
        tag, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight == weight and weight > 0:  # not NaN, not refused
            ranked.append((-weight, i, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def argv(command: str, fields: Iterable[tuple[str, str]]) -> list[str]:
    """The command line a request's fields stand for (its options before ``--``, its
    positional arguments after, so that a value is never read as a flag)."""
    known = fields_of(command)
    options: list[str] = []
    positional: dict[str, str] = {}
    for name, value in fields:
        action = known.get(name)
        if action is None:
            accepted = ", ".join(sorted(known))
            if name in REFUSED:
                raise GpuwiseError(
                    Message("web.refused_field", field=name, command=command, accepted=accepted),
                    code="usage",
                )
            raise GpuwiseError(
                Message(
                    "web.unknown_field", field=_shown(name), command=command, accepted=accepted
                ),
                code="usage",
            )
        if not action.option_strings:
            positional[name] = value
        elif action.nargs == 0:
            switch = value.strip().lower()
            if switch in _ON:
                options.append(f"--{name}")
            elif switch not in _OFF:
                raise GpuwiseError(
                    Message("web.bad_switch", field=name, value=_shown(value)), code="usage"
                )
        elif action.nargs == "?" and value.strip().lower() in _ON | _OFF:
            # a flag given alone or with a value (--grad-checkpointing [offload]): true is
            # the flag alone, false is no flag
            if value.strip().lower() in _ON:
                options.append(f"--{name}")
        else:
            options.append(f"--{name}={value}")
    words = [command, *options]
    ordered = [a.dest for a in parser_of(command)._actions if not a.option_strings]
    if positional:
        words.append("--")
        words += [positional[dest] for dest in ordered if dest in positional]
    return words


def _shown(text: str) -> str:
    """What a request named, for an error line: quoted, escaped, cut (one line, whatever it
    holds)."""
    return repr(text) if len(text) <= 60 else f"{text[:60]!r}... ({len(text)} characters)"


def _local_path(name: str) -> bool:
    """Whether a model name is a path on this machine (the web API reads none)."""
    try:
        return os.path.lexists(os.path.expanduser(name))
    except (OSError, ValueError):  # a NUL in the name: not a path either
        return False


def answer(
    command: str,
    fields: Iterable[tuple[str, str]],
    language: str = DEFAULT,
    config: tuple[str, str] | None = None,
    emit: bool = False,
    gguf: tuple[str, bytes, str] | None = None,
) -> Answer:
    """The document of ``command`` for ``fields``, as the command line prints it with
    ``--json`` in ``language``; ``config``: an uploaded config.json (file name, text) that
    names the model; ``emit`` (plan, recommend): also the launch files ``--emit DIR`` writes,
    written by it to a temporary folder and returned as a zip archive; ``gguf``: an uploaded
    GGUF model (file name, its first bytes, the whole file's size as the request gave it). A
    user error is a 400 with the command line's error document."""
    import gc

    from gpuwise.catalog import keep_loaded as keep_catalog
    from gpuwise.models import keep_loaded as keep_models

    # as the command line does: the cycle collector paused while a document is built (a plan's
    # search makes many objects and frees them all by reference counting)
    collecting = gc.isenabled()
    gc.disable()
    # the catalogue and the models presets and sizes name stay loaded from one request to the
    # next: the same objects each time, so the plans' caches find them by identity
    kept = keep_catalog(True), keep_models(True)
    try:
        return _answer(command, fields, language, config, emit, gguf)
    finally:
        keep_catalog(kept[0])
        keep_models(kept[1])
        if collecting:
            gc.enable()


def _answer(
    command: str,
    fields: Iterable[tuple[str, str]],
    language: str,
    config: tuple[str, str] | None,
    emit: bool,
    gguf: tuple[str, bytes, str] | None,
) -> Answer:
    import tempfile

    from gpuwise.cli.lang import speaking
    from gpuwise.render.document import dumps, envelope

    with _lock, speaking(language):
        folder: str | None = None
        config_path = ""
        launch: str | None = None
        files = None
        header_bytes = None
        try:
            if command not in served() or (emit and command not in EMITS):
                if emit:
                    raise GpuwiseError(
                        Message("web.no_emit", command=_shown(command), commands=", ".join(EMITS)),
                        code="usage",
                    )
                raise GpuwiseError(
                    Message(
                        "web.unknown_command", command=_shown(command), commands=", ".join(served())
                    ),
                    code="usage",
                )
            fields = list(fields)
            if gguf is not None:
                config_path, whole = _gguf_path(*gguf)
                header_bytes = _keep_gguf(config_path, gguf[1], whole)
                fields = [(k, v) for k, v in fields if k != "model"] + [("model", config_path)]
            elif config is not None:
                folder, config_path = _keep_upload(*config)
                fields = [(k, v) for k, v in fields if k != "model"] + [("model", config_path)]
            else:
                for name, value in fields:
                    if name == "model" and _local_path(value):
                        raise GpuwiseError(
                            Message("web.model_path", name=repr(value[:80])), code="usage"
                        )
            args = parser_of(command).parse_args(argv(command, fields)[1:])
            args.command, args.json, args.emit = command, True, None
            if emit:
                if config is not None or gguf is not None:
                    raise GpuwiseError(Message("web.emit_upload"), code="usage")
                launch = args.emit = tempfile.mkdtemp(prefix="gpuwise-web-emit-")
            if command == "doctor" and not args.card:
                raise GpuwiseError(Message("web.doctor_needs_card"), code="usage")
            doc = _module(command).document(args)
            if isinstance(doc, tuple):  # doctor: (document, found an error)
                doc = doc[0]
            if launch is not None:
                files = _zipped(launch)
                doc["emitted"] = sorted(os.path.relpath(p, launch) for p in doc["emitted"])
            text = dumps(doc)
            status = 200
        except GpuwiseError as e:
            status = 500 if e.exit_code != 2 else 400
            text = dumps(envelope(error={"code": e.code, "message": e.text()}))
        finally:
            for made in (folder, launch):
                if made is not None:
                    _forget(made)
        if config_path:  # the temporary folder is nobody's business
            shown_folders = (os.path.dirname(config_path), folder or _uploads_root())
            for shown in shown_folders:
                text = text.replace(shown + os.sep, "").replace(shown, "")
        found = Answer(status, text, files)
        found.header_bytes = header_bytes
        return found


def _zipped(folder: str) -> bytes:
    """The files of ``folder`` as a zip archive (names relative to it, launch.sh executable)."""
    import io
    import stat
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | (os.stat(path).st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                archive.writestr(info, f.read())
    return out.getvalue()


def _keep_upload(name: str, text: str) -> tuple[str, str]:
    """A temporary folder holding the uploaded config under its own (cleaned) name, in a
    folder of that name without ``.json`` (the model's name, as for a config.json named on
    the command line in its model's folder)."""
    import tempfile

    kept = _NAME.sub("_", os.path.basename(name or ""))[:80].lstrip(".")
    if not kept.endswith(".json"):
        kept = "config.json"
    folder = tempfile.mkdtemp(prefix="gpuwise-web-")
    inner = os.path.join(folder, kept[: -len(".json")] or "config")  # the model's name
    os.mkdir(inner)
    path = os.path.join(inner, kept)
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(text)
    return folder, path


def _uploads_root() -> str:
    """The folder GGUF uploads are kept in while the server runs (removed when it stops)."""
    if not _gguf_folders:
        import atexit
        import tempfile

        _gguf_folders.append(tempfile.mkdtemp(prefix="gpuwise-web-gguf-"))
        atexit.register(_forget, _gguf_folders[0])
    return _gguf_folders[0]


def _gguf_path(name: str, head: bytes, size: str) -> tuple[str, int]:
    """Where an uploaded GGUF file (``head``: its first bytes; ``size``: the whole file's size,
    as the request said it) is kept, under its own (cleaned) name, and its whole size."""
    import hashlib

    whole = int(size) if size.isascii() and size.isdigit() and len(size) <= 20 else -1
    if not len(head) <= whole <= GGUF_MOST:
        raise GpuwiseError(
            Message(
                "web.gguf_size", size=_shown(size), sent=f"{len(head):,}", most=f"{GGUF_MOST:,}"
            ),
            code="usage",
        )
    kept = _NAME.sub("_", os.path.basename(name or ""))[:80].lstrip(".")
    if not kept.lower().endswith(".gguf"):
        kept = "model.gguf"
    digest = hashlib.sha256(head).hexdigest()
    kept_before = _gguf_aliases.get((digest, whole, kept))
    if kept_before is not None and os.path.isfile(kept_before):
        return kept_before, whole
    return os.path.join(_uploads_root(), f"{digest[:32]}-{whole}", kept), whole


def _keep_gguf(path: str, head: bytes, whole: int) -> int:
    """A file at ``path`` of ``whole`` bytes that starts with ``head``, once the GGUF reader
    has read the header from ``head`` alone and checked the tensors against ``whole`` (a header
    cut short, or damaged, is its own one line); the rest is a hole (no disk), which the reader
    never reads. The same upload again is the same file
    (and its spec is kept); only the last few uploads are kept. Returns the bytes the header
    takes (up to where the weights start): all a later request about the file need send."""
    import hashlib

    from gpuwise.models.gguf_file import read_header_start

    folder = os.path.dirname(path)
    if os.path.isfile(path) and os.path.getsize(path) == whole and path in _gguf_headers:
        return _gguf_headers[path]
    try:
        os.makedirs(folder, exist_ok=True)
        with open(path, "wb") as f:
            f.write(head)
    except OSError as e:
        _forget(folder)
        raise GpuwiseError(
            Message("web.gguf_unwritable", reason=e.strerror or type(e).__name__), code="usage"
        ) from None
    try:
        header = read_header_start(path, whole)  # from the bytes sent only, never a hole
    except GpuwiseError:
        _forget(folder)
        raise  # the reader's own line
    try:
        os.truncate(path, whole)
    except OSError as e:
        _forget(folder)
        raise GpuwiseError(
            Message("web.gguf_unwritable", reason=e.strerror or type(e).__name__), code="usage"
        ) from None
    if len(_gguf_headers) >= 4 * _GGUF_KEPT:
        _gguf_headers.clear()
        _gguf_aliases.clear()
    header_bytes = _gguf_headers[path] = min(header.data_offset, len(head))
    alone = hashlib.sha256(head[:header_bytes]).hexdigest()
    _gguf_aliases[(alone, whole, os.path.basename(path))] = path
    root = os.path.dirname(folder)
    uploads = sorted(
        (os.path.join(root, d) for d in os.listdir(root)), key=lambda d: os.stat(d).st_mtime_ns
    )
    for old in uploads[:-_GGUF_KEPT]:
        if old != folder:
            _forget(old)
    return _gguf_headers[path]


def _forget(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
