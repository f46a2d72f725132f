"""The IDX file format of the MNIST files: read and write, gzip or plain.

An IDX file is a 4-byte magic number -- two zero bytes, a type code, the number of dimensions --
then each dimension as a big-endian uint32, then the values in C order, big-endian. MNIST's
images are ``0x00000803`` (uint8, 3-D: count x 28 x 28), its labels ``0x00000801`` (uint8, 1-D).
Source: the format description on http://yann.lecun.com/exdb/mnist/.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message

#: IDX type code -> big-endian NumPy dtype
TYPE_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODE_OF = {np.dtype(v).newbyteorder("=").str: k for k, v in TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def decompress(raw: bytes, name: str) -> bytes:
    """``raw`` itself, or its content when it is gzip data (told by its first two bytes)."""
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise GpuwiseError(Message("mnist.error.gzip", name=name, error=str(e))) from e


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """The array stored in the (decompressed) IDX bytes ``raw``, in native byte order."""
    if len(raw) < 4:
        raise GpuwiseError(Message("mnist.error.idx_short", name=name, size=len(raw)))
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in TYPE_CODES or raw[3] == 0:
        raise GpuwiseError(Message("mnist.error.idx_magic", name=name, magic=raw[:4].hex()))
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GpuwiseError(
            Message("mnist.error.idx_header", name=name, size=len(raw), header=header)
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(TYPE_CODES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    payload = len(raw) - header
    if payload < expected:
        raise GpuwiseError(
            Message(
                "mnist.error.idx_truncated",
                name=name,
                size=payload,
                dims=str(dims),
                expected=expected,
            )
        )
    if payload > expected:
        raise GpuwiseError(
            Message("mnist.error.idx_extra", name=name, extra=payload - expected, dims=str(dims))
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or plain."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise GpuwiseError(cannot_read(path, e)) from e
    return parse_idx(decompress(raw, str(path)), str(path))


def cannot_read(path: Path, e: OSError) -> Message:
    """A file that could not be read, with what the system said (in the user's language where
    the catalogue has it)."""
    from gpuwise.i18n import known

    return Message(
        "mnist.error.cannot_read", path=str(path), why=known("os.", str(e.strerror or e))
    )


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (one of the dtypes IDX knows)."""
    a = np.asarray(array)
    code = _CODE_OF.get(a.dtype.newbyteorder("=").str)
    if code is None or a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"IDX cannot hold a {a.ndim}-D array of {a.dtype}")
    head = bytes([0, 0, code, a.ndim]) + b"".join(d.to_bytes(4, "big") for d in a.shape)
    return head + a.astype(TYPE_CODES[code]).tobytes()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file; gzip-compressed when the name ends in ``.gz``."""
    raw = encode_idx(array)
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)
