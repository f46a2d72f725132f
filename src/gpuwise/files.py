"""Bounded, safe reads of the files gpuwise is given: model configs, the user's card file, price
files and saved benches.

One way in: :func:`read_bytes` opens the path once, checks on the open descriptor that it is a
regular file (a folder, FIFO or device such as /dev/zero is refused; a FIFO is opened without
blocking), and reads at most ``limit + 1`` bytes, refusing a larger file. :func:`parse_json`
decodes UTF-8 and parses JSON with a nesting limit (checked before parsing, so no recursion
error), refusing NaN / Infinity, floats beyond a double and integers of absurd length. Every
problem is a :class:`~gpuwise.errors.GpuwiseError` of one line naming the file and what would be
accepted. Standard library only, cheap to import: the fast path reads configs through here.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, known
from gpuwise.units import MIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

KIB = 1 << 10
#: Largest file of each kind read (real ones are a few KB; 10,000 user cards are about 3 MB).
LIMITS = {"config": 4 * MIB, "cards": 32 * MIB, "prices": 4 * MIB, "bench": 1 * MIB, "ref": KIB}
#: Deepest nesting of arrays and objects accepted in a JSON file.
MAX_DEPTH = 64
#: Most digits of an integer in a JSON file (no figure gpuwise reads comes near 10**40).
MAX_INT_DIGITS = 40

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: os.open errors that mean "there is no such file to read" (for files that may be absent).
_ABSENT = {errno.ENOENT, errno.ENOTDIR}


def _kind(mode: int) -> Message:
    if stat.S_ISDIR(mode):
        return Message("files.kind.folder")
    if stat.S_ISFIFO(mode):
        return Message("files.kind.fifo")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Message("files.kind.device")
    if stat.S_ISSOCK(mode):
        return Message("files.kind.socket")
    return Message("files.kind.other")


def why(e: OSError) -> Text:
    """What the system said of ``e`` ("Permission denied"), in the user's language where the
    catalogue has it (``os.*``), else as the system said it."""
    said = e.strerror or e.__class__.__name__
    return known("os.", said)


def _size(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n / KIB:g} KiB" if n >= KIB else f"{n} bytes"


def read_bytes(
    path: str | os.PathLike[str],
    where: Text,
    expected: Text,
    limit: int,
    *,
    absent_ok: bool = False,
) -> bytes | None:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    ``where`` names the file in errors ("--catalog cards.json"), ``expected`` says what would be
    accepted ("a JSON card file (docs/catalog.md)"). With ``absent_ok``, a file that is not there
    (or that cannot even be looked for: a parent that is not a folder, or not searchable) is None
    instead of an error; one that is there but unreadable is still an error.
    """
    try:
        fd = os.open(path, _FLAGS)
    except ValueError:  # an embedded NUL
        raise GpuwiseError(Message("files.bad_name", where=where, expected=expected)) from None
    except OSError as e:
        if absent_ok and (e.errno in _ABSENT or not _lexists(path)):
            return None
        if e.errno == errno.ENOENT:
            raise GpuwiseError(
                Message("files.no_such_file", where=where, expected=expected)
            ) from None
        raise GpuwiseError(
            Message("files.cannot_open", where=where, why=why(e), expected=expected)
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise GpuwiseError(
                Message(
                    "files.not_a_file", where=where, kind=_kind(info.st_mode), expected=expected
                )
            )
        if info.st_size > limit:
            raise GpuwiseError(
                Message(
                    "files.too_big",
                    where=where,
                    size=f"{info.st_size:,}",
                    limit=_size(limit),
                    expected=expected,
                )
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while read
            raise GpuwiseError(
                Message("files.grew", where=where, limit=_size(limit), expected=expected)
            )
        return b"".join(chunks)
    except OSError as e:
        raise GpuwiseError(
            Message("files.cannot_read", where=where, why=why(e), expected=expected)
        ) from None
    finally:
        os.close(fd)


def _lexists(path: str | os.PathLike[str]) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def decode(data: bytes, where: Text, expected: Text) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GpuwiseError(
            Message("files.not_utf8", where=where, byte=e.start, expected=expected)
        ) from None


class _Refused(ValueError):
    """A number JSON may spell but gpuwise does not take; raised from the parser's hooks."""


def _int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Refused(Message("files.long_integer", digits=digits, most=MAX_INT_DIGITS))
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(Message("files.huge_float", number=text[:24]))
    return value


def _constant(name: str) -> Any:
    raise _Refused(Message("files.not_finite", name=name))


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def _depth(doc: Any) -> int:
    """How deeply ``doc``'s lists and objects nest (a scalar: 0), without recursion."""
    deepest = 0
    stack = [(doc, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend(
                (child, depth + 1) for child in children if isinstance(child, (dict, list))
            )
    return deepest


def parse_json(text: str, where: Text, expected: Text) -> Any:
    """Parse ``text`` as JSON; one-line errors for bad JSON, deep nesting and bad numbers."""
    too_deep = Message("files.too_deep", where=where, depth=MAX_DEPTH, expected=expected)
    try:
        doc = _DECODER.decode(text)
    except RecursionError:  # deeper than the parser itself goes
        raise GpuwiseError(too_deep) from None
    except json.JSONDecodeError as e:
        raise GpuwiseError(invalid_json(e, where, expected)) from None
    except _Refused as e:
        raise GpuwiseError(
            Message("files.refused", where=where, problem=e.args[0], expected=expected)
        ) from None
    except ValueError as e:  # any other limit of the parser itself
        raise GpuwiseError(
            Message("files.unusable_json", where=where, problem=str(e), expected=expected)
        ) from None
    if _depth(doc) > MAX_DEPTH:
        raise GpuwiseError(too_deep)
    # only an escape can make a lone surrogate (the text itself is valid UTF-8)
    if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(doc):
        raise GpuwiseError(Message("files.lone_surrogate", where=where, expected=expected))
    return doc


def invalid_json(e: json.JSONDecodeError, where: Text, expected: Text) -> Message:
    """``where: not valid JSON (Expecting value at line 1 column 2); give expected``, the
    parser's words in the user's language where the catalogue has them (``json.*``)."""
    return Message(
        "files.invalid_json",
        where=where,
        problem=known("json.", e.msg),
        line=e.lineno,
        column=e.colno,
        expected=expected,
    )


def _has_lone_surrogate(doc: Any) -> bool:
    """True when a string (or key) of ``doc`` cannot be written as UTF-8: a terminal or a file
    would fail on it later. Iterative: the nesting is bounded, but no recursion is needed."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def read_json(path: str | os.PathLike[str], where: Text, expected: Text, limit: int) -> Any:
    """:func:`read_bytes`, :func:`decode` and :func:`parse_json` in one."""
    data = read_bytes(path, where, expected, limit)
    assert data is not None
    return parse_json(decode(data, where, expected), where, expected)


def home() -> str | None:
    """The user's home folder, or None when it cannot be found (no ``$HOME``, no passwd
    entry): callers then have no default file, never a traceback."""
    found = os.path.expanduser("~")
    return None if found.startswith("~") else found


def user_dir(variable: str, fallback: str) -> str | None:
    """``$variable`` (``XDG_CONFIG_HOME``) if set, else ``~/fallback`` (``.config``), else None."""
    explicit = os.environ.get(variable)
    if explicit:
        return explicit
    base = home()
    return None if base is None else os.path.join(base, fallback)
