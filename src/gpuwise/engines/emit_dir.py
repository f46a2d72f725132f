"""Writing launch files into the folder the user names, replacing only what gpuwise wrote there.

Next to the files, gpuwise keeps a manifest (:data:`MANIFEST`) with the SHA-256 of each file it
wrote. A folder that is not empty is refused unless ``--force``, and even then a file is
replaced or removed only when the manifest lists it and its content still matches: a file the
user wrote, or a launch file the user has edited since, is refused by name and left alone (move
it away, or delete it, and run again). Any file the new plan does not write and the manifest
does not list is never touched.

Every file is written to a new temporary file in the folder and renamed over its name, so a hard
link or a symbolic link already at that name is replaced, never written through. All of it goes
through one descriptor of the folder, opened once, so the writes land in the folder that was
checked. Nothing is written when it refuses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from gpuwise._version import __version__
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text, known

#: The manifest: which files gpuwise wrote into the folder, with their SHA-256.
MANIFEST = ".gpuwise-emit.json"
MANIFEST_SCHEMA = 1
#: Larger than any launch file or manifest gpuwise writes: a larger one is not gpuwise's.
MAX_BYTES = 1 << 20

#: The writer works through descriptors of folders, which POSIX systems have (Linux, macOS, WSL;
#: not Windows itself, where it refuses in one line: the launch files are for Linux anyway).
DIR_FDS = os.open in os.supports_dir_fd and all(
    hasattr(os, flag) for flag in ("O_DIRECTORY", "O_NOFOLLOW", "O_NONBLOCK")
)
_COMMON = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _COMMON
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _COMMON


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_plain_name(name: str) -> bool:
    return (
        name not in ("", ".", "..")
        and "/" not in name
        and "\0" not in name
        and (os.altsep is None or os.altsep not in name)
    )


def _said(e: OSError) -> Text:
    """What the system said of ``e``, in the user's language where the catalogue has it."""
    return known("os.", e.strerror) if e.strerror else str(e)


def write_launch_files(
    directory: str | Path, files: Mapping[str, str], *, force: bool = False
) -> list[Path]:
    """Write ``files`` (name -> text) into ``directory``, created if needed; the paths written
    (the manifest, :data:`MANIFEST`, last).

    Refuses, in one line and before writing anything: a path that is a file; a name that is not
    a plain file name in ``directory``; a folder that is not empty, unless ``force``; and with
    ``force``, a file this plan writes, or one an earlier plan wrote that this one does not,
    unless the manifest lists it with its present content.
    """
    root = Path(directory)
    if not DIR_FDS:
        raise GpuwiseError(Message("engines.posix"))
    names = list(files)
    for name in names:
        if not _is_plain_name(name):
            raise GpuwiseError(Message("engines.outside", name=repr(name), root=root))
        if name == MANIFEST:
            raise GpuwiseError(Message("engines.manifest_name", manifest=MANIFEST))
    data = {}
    for name in names:
        try:
            data[name] = files[name].encode("utf-8")
        except UnicodeEncodeError:
            raise GpuwiseError(Message("engines.not_utf8", name=name)) from None
    manifest = _manifest_bytes({n: sha256(b) for n, b in data.items()})
    try:
        if root.exists() and not root.is_dir():
            raise GpuwiseError(Message("engines.is_file", root=root))
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise GpuwiseError(Message("engines.cannot_write", root=root, why=_said(e))) from None
    try:
        stale = _check_folder(fd, root, names, force)
        _write(fd, root, data, manifest, stale)
        where = Path(os.path.realpath(root))
    finally:
        os.close(fd)
    return [where / name for name in [*names, MANIFEST]]


def _check_folder(fd: int, root: Path, names: list[str], force: bool) -> list[str]:
    """What is in the folder may be replaced; the names of an earlier plan's files to remove."""
    try:
        present = set(os.listdir(fd))
    except OSError as e:
        raise GpuwiseError(Message("engines.cannot_list", root=root, why=_said(e))) from None
    if not present:
        return []
    if not force:
        raise GpuwiseError(Message("engines.not_empty", root=root, has=min(present)))
    recorded = _read_manifest(fd, root) if MANIFEST in present else {}
    stale = sorted(n for n in recorded if n not in names and n in present)
    for name in [*(n for n in names if n in present), *stale]:
        _check_ours(fd, root, name, recorded)
    return stale


def _check_ours(fd: int, root: Path, name: str, recorded: Mapping[str, str]) -> None:
    """Refuse ``name`` unless it is the regular file gpuwise wrote, unchanged."""
    st = _lstat(fd, root, name)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        raise GpuwiseError(Message("engines.is_folder", root=root, name=name))
    if name not in recorded:
        raise GpuwiseError(Message("engines.not_ours", root=root, name=name, manifest=MANIFEST))
    if not stat.S_ISREG(st.st_mode):
        raise GpuwiseError(Message("engines.special_file", root=root, name=name))
    content = _read(fd, root, name)
    if content is None or sha256(content) != recorded[name]:
        raise GpuwiseError(Message("engines.changed", root=root, name=name))


def _lstat(fd: int, root: Path, name: str) -> os.stat_result | None:
    """``name`` in the folder, not followed if a link; None when it is not there."""
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise GpuwiseError(
            Message("engines.cannot_read", root=root, name=name, why=_said(e))
        ) from None


def _read(fd: int, root: Path, name: str) -> bytes | None:
    """A regular file's bytes, never through a link; None when larger than :data:`MAX_BYTES`."""
    try:
        file = os.open(name, _READ_FLAGS, dir_fd=fd)
    except OSError as e:
        raise GpuwiseError(
            Message("engines.cannot_read", root=root, name=name, why=_said(e))
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(file).st_mode):
            return None
        chunks = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(file, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return None if size > MAX_BYTES else b"".join(chunks)
    except OSError as e:
        raise GpuwiseError(
            Message("engines.cannot_read", root=root, name=name, why=_said(e))
        ) from None
    finally:
        os.close(file)


def _read_manifest(fd: int, root: Path) -> dict[str, str]:
    """The manifest's ``files`` (name -> SHA-256); a one-line refusal when it is not one
    gpuwise wrote."""
    bad = GpuwiseError(Message("engines.bad_manifest", root=root, manifest=MANIFEST))
    st = _lstat(fd, root, MANIFEST)
    if st is None or not stat.S_ISREG(st.st_mode):
        raise bad
    content = _read(fd, root, MANIFEST)
    if content is None:
        raise bad
    try:
        doc = json.loads(content.decode("utf-8"))
    except (ValueError, RecursionError):  # also UnicodeDecodeError
        raise bad from None
    entries = doc.get("files") if isinstance(doc, dict) else None
    if (
        not isinstance(entries, dict)
        or doc.get("schema_version") != MANIFEST_SCHEMA
        or not all(
            isinstance(n, str) and _is_plain_name(n) and n != MANIFEST and _is_digest(h)
            for n, h in entries.items()
        )
    ):
        raise bad
    return dict(entries)


def _is_digest(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _manifest_bytes(digests: Mapping[str, str]) -> bytes:
    doc = {
        "schema_version": MANIFEST_SCHEMA,
        "written_by": f"gpuwise {__version__}",
        "about": "the files `gpuwise --emit` wrote here, with their SHA-256; --force replaces "
        "or removes only these, and only while unchanged",
        "files": dict(digests),
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _write(
    fd: int, root: Path, data: Mapping[str, bytes], manifest: bytes, stale: list[str]
) -> None:
    """Each file to a temporary file in the folder, then renamed over its name; the manifest
    last. The temporary files are removed when anything fails."""
    temps: list[tuple[str, str]] = []
    try:
        for name, content in data.items():
            temps.append((_new_temp(fd, name, content), name))
        temps.append((_new_temp(fd, MANIFEST, manifest), MANIFEST))
        for name in stale:
            os.unlink(name, dir_fd=fd)
        while temps:
            temp, name = temps[0]
            os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            temps.pop(0)
    except OSError as e:
        for temp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=fd)
        raise GpuwiseError(Message("engines.cannot_write", root=root, why=_said(e))) from None


def _new_temp(fd: int, name: str, content: bytes) -> str:
    """A new file in the folder holding ``content``; its name. Executable for a .sh (as the
    umask allows), like any new file otherwise."""
    mode = 0o777 if name.endswith(".sh") else 0o666
    while True:
        temp = f".{name}.{os.urandom(6).hex()}.tmp"
        try:
            file = os.open(temp, _NEW_FLAGS, mode, dir_fd=fd)
            break
        except FileExistsError:
            continue
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(file, view) :]
    except OSError:
        os.close(file)
        os.unlink(temp, dir_fd=fd)
        raise
    os.close(file)
    return temp
