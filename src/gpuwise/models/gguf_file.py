"""A GGUF model file's header: its architecture, shapes and each tensor's exact type.

The header is read piece by piece and only as far as it goes (magic ``GGUF``, version 2 or 3,
tensor and metadata counts, the metadata, the tensor infos: name, dimensions, ggml type,
offset); the weights after it are never read. Every count and length is checked against what
the file can hold before anything is allocated for it, so a damaged or hostile header is one
line naming the problem (:class:`~gpuwise.errors.GpuwiseError`), never a traceback or an
allocation its size claims. Layout: llama.cpp ``ggml/include/gguf.h`` and ``docs/gguf.md``
(the same commit as data/gguf_types.json); little-endian files only (the ones llama.cpp writes
by default).

:func:`load_gguf` turns the header into a :class:`~gpuwise.models.spec.ModelSpec` through the
model family's rules (the architecture's metadata mapped to a config, data/gguf_arch.json),
carrying the file's tensors (``extra["gguf_tensors"]``) and file type
(``extra["gguf_file_type"]``), so that its weights are counted at the types the file has.
"""

from __future__ import annotations

import os
import re
import stat
import struct

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, cut
from gpuwise.models.spec import ModelSpec
from gpuwise.models.weight_types import (
    FILE,
    TensorWeight,
    file_type_by_id,
    ggml_type_by_id,
    ggml_types,
    tensor_bytes,
)
from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

MAGIC = b"GGUF"
VERSIONS = (2, 3)
#: GGML_MAX_DIMS
MAX_DIMS = 4
#: Metadata strings kept (longer ones, such as chat templates, are skipped, not read).
MAX_KEPT_STRING = 1 << 16
#: Numeric arrays kept element by element (longer ones, and arrays of strings, keep their
#: length only).
MAX_KEPT_ARRAY = 4096
#: Arrays nested in arrays (GGUF allows it; nobody nests deeper).
MAX_ARRAY_DEPTH = 3
#: Most elements one tensor may claim (2**50: a petabyte of int8).
MAX_ELEMENTS = 1 << 50
#: The smallest a metadata entry and a tensor info can be on disk: a count claiming more than
#: the file can hold is refused before any is read.
MIN_KV_BYTES = 8 + 1 + 4 + 1
MIN_TENSOR_BYTES = 8 + 1 + 4 + 8 + 4 + 8

# value types (gguf.h enum gguf_type): struct format of the scalar ones
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q"}
_SCALARS |= {11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@record
class ArrayInfo:
    """A metadata array too long to keep: its element type and length."""

    value_type: int
    length: int


@record
class GgufTensorInfo:
    name: str
    dims: tuple[int, ...]  # ne0 (the row) first, as ggml orders them
    ggml_type: str
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


@record
class GgufHeader:
    path: str
    version: int
    metadata: dict[str, Any]
    tensors: tuple[GgufTensorInfo, ...]
    data_offset: int
    file_size: int


def _fail(key: str, path: str, /, **params: object) -> GpuwiseError:
    """The one line for a problem with the file at ``path`` (``key``: a ``gguf.*`` message)."""
    return GpuwiseError(Message(key, path=cut(path, 120), **params))


class _Reader:
    """Reads the header front to back, never past the file's end nor more than asked."""

    def __init__(self, f: BinaryIO, path: str, size: int) -> None:
        self.f = f
        self.path = path
        self.size = size
        self.pos = 0

    def left(self) -> int:
        return self.size - self.pos

    def take(self, n: int) -> bytes:
        if n > self.left():
            raise _fail("gguf.truncated", self.path, at=f"{self.pos:,}", size=f"{self.size:,}")
        data = self.f.read(n)
        if len(data) != n:  # the file shrank under us
            raise _fail(
                "gguf.truncated", self.path, at=f"{self.pos + len(data):,}", size=f"{self.size:,}"
            )
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if n > self.left():
            raise _fail("gguf.truncated", self.path, at=f"{self.pos:,}", size=f"{self.size:,}")
        self.f.seek(n, os.SEEK_CUR)
        self.pos += n

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def u32(self) -> int:
        return int(self.scalar("<I"))

    def u64(self) -> int:
        return int(self.scalar("<Q"))

    def count(self, what: Message, each: int) -> int:
        """A count of things of at least ``each`` bytes that must fit in what is left."""
        n = self.u64()
        if n * each > self.left():
            raise _fail(
                "gguf.too_many", self.path, count=f"{n:,}", what=what, size=f"{self.size:,}"
            )
        return n

    def text(self, keep: bool = True) -> str | None:
        n = self.u64()
        if n > self.left():
            raise _fail("gguf.truncated", self.path, at=f"{self.pos:,}", size=f"{self.size:,}")
        if not keep or n > MAX_KEPT_STRING:
            self.skip(n)
            return None
        at = self.pos
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise _fail("gguf.bad_text", self.path, at=f"{at:,}") from None

    def value(self, value_type: int, key: str, depth: int = 0) -> Any:
        if value_type in _SCALARS:
            return self.scalar(_SCALARS[value_type])
        if value_type == _STRING:
            return self.text()
        if value_type == _ARRAY and depth < MAX_ARRAY_DEPTH:
            inner = self.u32()
            each = struct.calcsize(_SCALARS[inner]) if inner in _SCALARS else 8
            if inner not in _SCALARS and inner not in (_STRING, _ARRAY):
                raise _fail("gguf.bad_value_type", self.path, key=cut(key, 80), type=inner)
            n = self.count(Message("gguf.what.array"), each)
            if inner in _SCALARS and n > MAX_KEPT_ARRAY:
                self.skip(n * each)
                return ArrayInfo(inner, n)
            if inner in _SCALARS:
                fmt = "<" + _SCALARS[inner][1] * n
                return list(struct.unpack(fmt, self.take(n * each)))
            if inner == _STRING:  # token lists, merges: their length is all gpuwise needs
                for _ in range(n):
                    self.text(keep=False)
                return ArrayInfo(inner, n)
            return [self.value(inner, key, depth + 1) for _ in range(n)]
        if value_type == _ARRAY:
            raise _fail("gguf.too_deep", self.path, key=cut(key, 80), most=MAX_ARRAY_DEPTH)
        raise _fail("gguf.bad_value_type", self.path, key=cut(key, 80), type=value_type)


def _open(path: str) -> tuple[BinaryIO, int]:
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise _fail("gguf.unreadable", path, reason=e.strerror or type(e).__name__) from None
    if not stat.S_ISREG(mode):
        raise _fail("gguf.not_file", path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by read_header
    except OSError as e:
        raise _fail("gguf.unreadable", path, reason=e.strerror or type(e).__name__) from None
    return f, os.fstat(f.fileno()).st_size


def read_header(path: str) -> GgufHeader:
    """The header of the GGUF file at ``path`` (the weights are never read)."""
    f, size = _open(path)
    with f:
        try:
            return _read(_Reader(f, path, size))
        except OSError as e:
            raise _fail("gguf.unreadable", path, reason=e.strerror or type(e).__name__) from None


def read_header_start(path: str, size: int) -> GgufHeader:
    """The header of a GGUF file of ``size`` bytes of which the file at ``path`` holds only the
    first ones (an upload of its header, `gpuwise serve`): read from those bytes alone, so a
    header that runs past them is cut short (``gguf.truncated``); the tensors are checked
    against ``size``, the whole file's."""
    f, held = _open(path)
    with f:
        try:
            r = _Reader(f, path, max(size, held))
            header = _read(r)
        except OSError as e:
            raise _fail("gguf.unreadable", path, reason=e.strerror or type(e).__name__) from None
    if r.pos > held:  # a skip went past the bytes held: the header is not all there
        raise _fail("gguf.truncated", path, at=f"{held:,}", size=f"{size:,}")
    return header


def _read(r: _Reader) -> GgufHeader:
    path = r.path
    start = r.take(min(4, r.left()))
    if start != MAGIC:
        raise _fail("gguf.not_gguf", path, start=repr(start))
    version = r.u32()
    if version not in VERSIONS:
        raise _fail("gguf.version", path, version=version)
    n_tensors = r.count(Message("gguf.what.tensors"), MIN_TENSOR_BYTES)
    n_kv = r.count(Message("gguf.what.metadata"), MIN_KV_BYTES)
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = r.text() or ""
        metadata[key] = r.value(r.u32(), key)
    by_id = ggml_type_by_id()
    tensors = []
    for _ in range(n_tensors):
        name = r.text() or ""
        n_dims = r.u32()
        if not 1 <= n_dims <= MAX_DIMS:
            raise _fail("gguf.bad_dims", path, name=cut(name, 80), dims=n_dims)
        dims = tuple(r.u64() for _ in range(n_dims))
        type_id = r.u32()
        offset = r.u64()
        if type_id not in by_id:
            known = ", ".join(f"{i} {n}" for i, n in sorted(by_id.items()))
            raise _fail("gguf.unknown_type", path, name=cut(name, 80), type=type_id, known=known)
        info = GgufTensorInfo(name, dims, by_id[type_id], offset)
        elements = 1
        for d in dims:
            elements *= d
            if elements > MAX_ELEMENTS:
                break
        if elements > MAX_ELEMENTS or elements == 0:
            raise _fail("gguf.bad_size", path, name=cut(name, 80), dims=" x ".join(map(str, dims)))
        block = ggml_types()[info.ggml_type]["block"]
        if dims[0] % block:
            raise _fail(
                "gguf.bad_shape",
                path,
                name=cut(name, 80),
                ne0=dims[0],
                type=info.ggml_type,
                block=block,
            )
        tensors.append(info)
    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _fail("gguf.bad_alignment", path, alignment=cut(repr(alignment), 40))
    data_offset = -(-r.pos // alignment) * alignment
    for t in tensors:
        end = data_offset + t.offset + tensor_bytes(t.ggml_type, t.n_elements)
        if end > r.size:
            raise _fail(
                "gguf.beyond_end", path, name=cut(t.name, 80), end=f"{end:,}", size=f"{r.size:,}"
            )
    return GgufHeader(path, version, metadata, tuple(tensors), data_offset, r.size)


# --- the model it holds ---------------------------------------------------------------------


def _arch_table() -> dict[str, Any]:
    table: dict[str, Any] = packaged_json("gpuwise.models", "data/gguf_arch.json")
    return table


def _config(header: GgufHeader) -> dict[str, Any]:
    """The Hugging Face config the header's metadata describes."""
    path, meta = header.path, header.metadata
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise _fail("gguf.no_arch", path)
    table = _arch_table()
    entry = table["architectures"].get(arch)
    if entry is None:
        known = ", ".join(table["architectures"])
        raise _fail("gguf.unknown_arch", path, arch=cut(arch, 40), known=known)
    config: dict[str, Any] = {"model_type": entry["model_type"]}
    for suffix, hf_key in table["keys"].items():
        value = meta.get(f"{arch}.{suffix}")
        if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
            value = max(value)  # a per-layer value (head_count_kv of some models)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            config[entry.get("renames", {}).get(hf_key, hf_key)] = value
    if config.get("num_experts") or config.get("num_local_experts"):
        config["model_type"] = entry.get("with_experts", entry["model_type"])
    names = {t.name: t for t in header.tensors}
    embed = names.get("token_embd.weight")
    if embed is None or len(embed.dims) != 2:
        raise _fail("gguf.missing_tensor", path, name="token_embd.weight")
    config["vocab_size"] = embed.dims[1]
    config.setdefault("hidden_size", embed.dims[0])
    config["tie_word_embeddings"] = "output.weight" not in names
    config["attention_bias"] = "blk.0.attn_q.bias" in names
    for needed in ("num_hidden_layers", "num_attention_heads"):
        if needed not in config:
            key = next(k for k, v in table["keys"].items() if v == needed)
            raise _fail("gguf.missing_key", path, key=f"{arch}.{key}", arch=arch)
    layers = {n for n in map(_layer, names) if n is not None}
    if not layers or config["num_hidden_layers"] != len(layers) or max(layers) + 1 != len(layers):
        raise _fail(
            "gguf.layers_mismatch",
            path,
            key=f"{arch}.block_count",
            claimed=cut(repr(config["num_hidden_layers"]), 40),
            found=len(layers),
        )
    return config


def _layer(name: str) -> int | None:
    if not name.startswith("blk."):
        return None
    number = name[4:].split(".", 1)[0]
    return int(number) if number.isascii() and number.isdigit() else None


#: A part of a split GGUF file, as llama.cpp's gguf-split names them (llama_split_path).
_SPLIT = re.compile(
    r"^(?P<prefix>.*)-(?P<index>\d{5})-of-(?P<count>\d{5})(?P<ext>\.gguf)$", re.IGNORECASE
)
#: Most parts a split model may have (llama.cpp's split.count is a u16).
MAX_SPLITS = 1 << 16


def read_model_header(path: str) -> GgufHeader:
    """The header of the model at ``path``; for a model split in parts (``*-00001-of-00003.gguf``,
    any part named) the first part's metadata with every part's tensors."""
    m = _SPLIT.match(path)
    if m is None:
        header = read_header(path)
        count = header.metadata.get("split.count")
        if isinstance(count, int) and not isinstance(count, bool) and count > 1:
            raise _fail("gguf.split_unnamed", path, count=count)
        return header
    count = int(m.group("count"))
    if not 1 <= int(m.group("index")) <= count <= MAX_SPLITS:
        raise _fail("gguf.split_name", path)
    prefix, ext = m.group("prefix"), m.group("ext")
    parts = [f"{prefix}-{i:05d}-of-{count:05d}{ext}" for i in range(1, count + 1)]
    for part in parts:
        if not os.path.exists(part):
            raise _fail(
                "gguf.split_missing", path, part=cut(os.path.basename(part), 120), count=count
            )
    headers = [read_header(part) for part in parts]
    tensors = tuple(t for h in headers for t in h.tensors)
    first = headers[0]
    claimed = first.metadata.get("split.tensors.count")
    if isinstance(claimed, int) and claimed != len(tensors):
        raise _fail("gguf.split_tensors", path, claimed=claimed, found=len(tensors), count=count)
    return GgufHeader(
        first.path, first.version, first.metadata, tensors, first.data_offset, first.file_size
    )


def load_gguf(path: str) -> ModelSpec:
    """The model in the GGUF file at ``path`` (or the parts of a split one): shapes from its
    metadata, weights at the types its tensors have."""
    header = read_model_header(path)
    config = _config(header)
    from gpuwise.models.build import spec_from_config

    base = os.path.basename(path)
    meta_name = header.metadata.get("general.name")
    spec = spec_from_config(
        config,
        name=meta_name.strip()[:120] if isinstance(meta_name, str) and meta_name.strip() else base,
        source=Message("gguf.source", file=cut(base, 80)),
        where=Message("gguf.where", path=cut(path, 120)),
    )
    tensors = tuple(
        TensorWeight(
            t.name,
            _layer(t.name),
            t.n_elements,
            t.ggml_type,
            tensor_bytes(t.ggml_type, t.n_elements),
        )
        for t in header.tensors
    )
    file_type = header.metadata.get("general.file_type")
    spec.extra["gguf_tensors"] = tensors
    spec.extra["gguf_file_type"] = (
        file_type_by_id().get(file_type) if isinstance(file_type, int) else None
    ) or FILE
    return spec
