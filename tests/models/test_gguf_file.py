"""`gpuwise model FILE.gguf`: a GGUF file written by llama.cpp's own writer (the gguf package)
reads back with its shapes and each tensor's type, never its weights; a damaged header
(truncated, flipped bytes, huge counts, unknown types) is one line, exit 2, and never a
traceback or an allocation the header asks for."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model
from gpuwise.models.gguf_file import read_header
from gpuwise.models.weight_types import FILE, layer_bytes, nonlayer_bytes, tensor_weights

from ..bounded import gpuwise_process
from ..checks import one_line

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")
T = gguf.GGMLQuantizationType

HIDDEN, FF, VOCAB, HEADS, KV, LAYERS = 256, 512, 1000, 4, 2, 3
#: The tensor types the tiny model is written with (several kinds of block).
TYPES = {
    "attn_q": T.Q4_K,
    "attn_k": T.Q4_K,
    "attn_v": T.Q6_K,
    "attn_output": T.Q8_0,
    "ffn_gate": T.Q4_K,
    "ffn_up": T.F16,
    "ffn_down": T.Q5_0,
}


def write_tiny(path, *, arch="llama", tied=False, file_type=15, qwen_bias=False, split=0):
    """A tiny random model as ``convert_hf_to_gguf.py`` + ``llama-quantize`` would lay it out
    (``split``: at most that many tensors a part, in parts named as gguf-split names them)."""
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), arch, split_max_tensors=split)
    w.add_name("tiny test model")
    w.add_block_count(LAYERS)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FF)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV)
    w.add_context_length(4096)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(file_type)
    w.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(VOCAB)])

    def tensor(name, shape, qtype=T.F32):
        if qtype == T.F32:
            w.add_tensor(name, rng.standard_normal(shape).astype(np.float32))
        elif qtype == T.F16:
            w.add_tensor(name, rng.standard_normal(shape).astype(np.float16))
        else:
            block, size = gguf.GGML_QUANT_SIZES[qtype]
            raw = rng.integers(0, 255, (shape[0], shape[1] // block * size), dtype=np.uint8)
            w.add_tensor(name, raw, raw_dtype=qtype)

    head_dim = HIDDEN // HEADS
    tensor("token_embd.weight", (VOCAB, HIDDEN), T.Q4_K)
    for i in range(LAYERS):
        tensor(f"blk.{i}.attn_norm.weight", (HIDDEN,))
        tensor(f"blk.{i}.attn_q.weight", (HIDDEN, HIDDEN), TYPES["attn_q"])
        tensor(f"blk.{i}.attn_k.weight", (KV * head_dim, HIDDEN), TYPES["attn_k"])
        tensor(f"blk.{i}.attn_v.weight", (KV * head_dim, HIDDEN), TYPES["attn_v"])
        if qwen_bias:
            tensor(f"blk.{i}.attn_q.bias", (HIDDEN,))
            tensor(f"blk.{i}.attn_k.bias", (KV * head_dim,))
            tensor(f"blk.{i}.attn_v.bias", (KV * head_dim,))
        tensor(f"blk.{i}.attn_output.weight", (HIDDEN, HIDDEN), TYPES["attn_output"])
        tensor(f"blk.{i}.ffn_norm.weight", (HIDDEN,))
        tensor(f"blk.{i}.ffn_gate.weight", (FF, HIDDEN), TYPES["ffn_gate"])
        tensor(f"blk.{i}.ffn_up.weight", (FF, HIDDEN), TYPES["ffn_up"])
        tensor(f"blk.{i}.ffn_down.weight", (HIDDEN, FF), TYPES["ffn_down"])
    tensor("output_norm.weight", (HIDDEN,))
    if not tied:
        tensor("output.weight", (VOCAB, HIDDEN), T.Q6_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def test_reads_back_shapes_and_types(tiny):
    spec = load_model(str(tiny))
    assert (spec.model_type, spec.num_layers, spec.hidden_size) == ("llama", LAYERS, HIDDEN)
    assert (spec.num_attention_heads, spec.num_kv_heads, spec.head_dim) == (HEADS, KV, 64)
    assert (spec.intermediate_size, spec.vocab_size) == (FF, VOCAB)
    assert spec.max_position_embeddings == 4096 and not spec.tie_word_embeddings
    assert spec.name == "tiny test model"
    types = {t.name: t.ggml_type for t in tensor_weights(spec, FILE)}
    for i in range(LAYERS):
        for kind, qtype in TYPES.items():
            assert types[f"blk.{i}.{kind}.weight"] == qtype.name.lower()
        assert types[f"blk.{i}.attn_norm.weight"] == "f32"
    assert types["output.weight"] == "q6_k" and types["token_embd.weight"] == "q4_k"


def test_weight_bytes_are_the_files(tiny):
    """Every tensor's bytes as the gguf package's reader sees them (its data ranges), summed
    per layer and outside the layers."""
    spec = load_model(str(tiny))
    reader = gguf.GGUFReader(str(tiny))
    theirs = {t.name: int(t.n_bytes) for t in reader.tensors}
    ours = {t.name: t.bytes for t in tensor_weights(spec, FILE)}
    assert ours == theirs
    per_layer = [sum(n for k, n in theirs.items() if k.startswith(f"blk.{i}.")) for i in range(3)]
    assert layer_bytes(spec, "q4_k_m") == per_layer  # the file says q4_k_m: its own types
    assert nonlayer_bytes(spec, "q4_k_m") == {
        k: n for k, n in theirs.items() if not k.startswith("blk.")
    }
    assert sum(theirs.values()) < os.path.getsize(tiny)


def test_header_only(tiny, monkeypatch):
    """The reader stops at the end of the tensor infos: no byte of the weights is read."""
    from gpuwise.models import gguf_file

    furthest = []

    class Watched:
        def __init__(self, f):
            self.f = f

        def read(self, n):
            data = self.f.read(n)
            furthest.append(self.f.tell())
            return data

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(gguf_file, "open", lambda *a: Watched(open(*a)), raising=False)  # noqa: SIM115
    header = read_header(str(tiny))
    assert max(furthest) <= header.data_offset < os.path.getsize(tiny) // 10
    assert header.metadata["tokenizer.ggml.tokens"] == gguf_file.ArrayInfo(8, VOCAB)


def test_cli_json_and_table(tiny, cli):
    r = cli("model", str(tiny), "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["gguf"]["file_type"] == "q4_k_m"
    assert doc["gguf"]["tensors"] == 3 * 9 + 3
    assert doc["gguf"]["weights_bytes"] == sum(
        int(t.n_bytes) for t in gguf.GGUFReader(str(tiny)).tensors
    )
    assert doc["shapes"]["num_layers"] == LAYERS
    r = cli("model", str(tiny))
    assert r.code == 0 and "this file (q4_k_m)" in r.out


def test_tied_and_qwen(tmp_path):
    spec = load_model(str(write_tiny(tmp_path / "tied.gguf", tied=True)))
    assert spec.tie_word_embeddings
    spec = load_model(str(write_tiny(tmp_path / "q.gguf", arch="qwen2", qwen_bias=True)))
    assert spec.model_type == "qwen2"
    assert any(b.bias for b in spec.blocks)


def _u64(n):
    return n.to_bytes(8, "little")


def _text(raw):
    """A GGUF string value: type 8, length, bytes."""
    return (8).to_bytes(4, "little") + _u64(len(raw)) + raw


def _nested(depth):
    """An array value (after its type) holding arrays ``depth`` deep, ending in one u8."""
    if depth == 0:
        return (0).to_bytes(4, "little") + _u64(1) + b"\1"
    return (9).to_bytes(4, "little") + _u64(1) + _nested(depth - 1)


def _header(tensors, kv):
    """A GGUF v3 header by hand: ``kv`` is (key, type and value bytes) pairs."""
    out = b"GGUF" + (3).to_bytes(4, "little") + _u64(tensors) + _u64(len(kv))
    for key, value in kv:
        out += _u64(len(key)) + key + value
    return out + b"\0" * 64


@pytest.mark.parametrize(
    "content,says",
    [
        (b"", "not a GGUF file"),
        (b"GGML" + b"\0" * 60, "not a GGUF file"),
        (b"GGUF" + (1).to_bytes(4, "little") + b"\0" * 16, "version 1"),
        (b"GGUF" + (3).to_bytes(4, "little") + (2**60).to_bytes(8, "little") + b"\0" * 8, "claims"),
        (b"GGUF" + (3).to_bytes(4, "little"), "ends early"),
        (_header(tensors=0, kv=[(b"a", (9).to_bytes(4, "little") + _nested(5))]), "nests arrays"),
        (_header(tensors=0, kv=[(b"a", (13).to_bytes(4, "little"))]), "value type 13"),
        (_header(tensors=0, kv=[(b"general.architecture", _text(b"llama"))]), "no 2-dimensional"),
        (_header(tensors=0, kv=[(b"general.architecture", _text(b"rwkv9"))]), "'rwkv9'"),
    ],
)
def test_bad_files_one_line(tmp_path, cli, content, says):
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    one_line(cli("model", str(path)), says)


def test_not_a_file_and_missing(tmp_path, cli):
    one_line(cli("model", str(tmp_path / "none.gguf")), "none.gguf")
    (tmp_path / "dir.gguf").mkdir()
    one_line(cli("model", str(tmp_path / "dir.gguf")), "not a regular file")


def test_unknown_tensor_type(tmp_path, tiny, cli):
    data = bytearray(tiny.read_bytes())
    header = read_header(str(tiny))
    name = header.tensors[0].name.encode()
    at = data.index(name) + len(name) + 4 + 8 * len(header.tensors[0].dims)
    data[at : at + 4] = (77).to_bytes(4, "little")
    path = tmp_path / "type77.gguf"
    path.write_bytes(bytes(data))
    one_line(cli("model", str(path)), "type id 77")


def test_truncated_weights_said(tmp_path, tiny, cli):
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny.read_bytes()[: os.path.getsize(tiny) - 1000])
    one_line(cli("model", str(path)), "past the end of the file", "incomplete")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_damaged_headers_never_traceback(tiny, tmp_path, data):
    """Truncate the file or overwrite bytes of its header (counts, lengths, types, names):
    the reader gives a model or one GpuwiseError, reading only what is there."""
    original = tiny.read_bytes()
    end = read_header(str(tiny)).data_offset
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, end - 1))
        width = data.draw(st.sampled_from([1, 4, 8]))
        value = data.draw(st.sampled_from([0, 0xFF, 0x7F, 1, 64]))
        damaged[at : at + width] = bytes([value]) * width
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(damaged)))]
    path = tmp_path / "damaged.gguf"
    path.write_bytes(bytes(damaged))
    try:
        spec = load_model(str(path))
    except GpuwiseError as e:
        assert "\n" not in str(e) and str(e)
    else:
        assert spec.num_layers >= 1


def test_damaged_header_bounded_process(tmp_path, tiny):
    """In its own process with 2 GiB of address space: a header claiming 2**40 tensors,
    a string of 2**50 bytes or an array of 2**61 elements is refused, not allocated."""
    original = tiny.read_bytes()
    for at, value in ((8, 2**40), (16, 2**50), (24 + 8, 2**61)):
        damaged = bytearray(original)
        damaged[at : at + 8] = value.to_bytes(8, "little")
        path = tmp_path / "huge.gguf"
        path.write_bytes(bytes(damaged))
        r = gpuwise_process("model", str(path))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1, r.stderr


def test_plan_a_gguf_file_runs_llama_cpp_at_its_types(tiny, cli):
    """plan FILE.gguf --task infer: llama.cpp with the file's own tensor types; on the card
    every tensor but token_embd (llama.cpp keeps it in host memory)."""
    r = cli("plan", str(tiny), "--task", "infer", "--gpu", "3090", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["engine"]["name"] == "llama.cpp" and doc["engine"]["weight_type"] == "q4_k_m"
    sizes = {t.name: int(t.n_bytes) for t in gguf.GGUFReader(str(tiny)).tensors}
    on_card = sum(sizes.values()) - sizes["token_embd.weight"]
    assert doc["cards"][0]["memory"]["breakdown"]["weights"] == on_card


def test_split_model_reads_every_part(tmp_path, tiny):
    """A model in parts (NAME-00001-of-0000N.gguf, as gguf-split writes it): any part named
    gives the whole model; a missing part is one line naming it."""
    write_tiny(tmp_path / "big.gguf", split=8)
    parts = sorted(tmp_path.glob("big-*-of-*.gguf"))
    assert len(parts) >= 3
    whole = load_model(str(tiny))
    for part in (parts[0], parts[-1]):
        spec = load_model(str(part))
        ours = tensor_weights(spec, FILE)
        assert sorted(t.name for t in ours) == sorted(t.name for t in tensor_weights(whole, FILE))
        assert sum(t.bytes for t in ours) == sum(t.bytes for t in tensor_weights(whole, FILE))
    parts[1].unlink()
    with pytest.raises(GpuwiseError) as e:
        load_model(str(parts[0]))
    assert parts[1].name in str(e.value) and "missing" in str(e.value)


def test_a_gguf_without_its_suffix_is_read_by_its_magic(tmp_path, tiny):
    """Ollama keeps models as blobs/sha256-<digest>: the magic says GGUF."""
    blob = tmp_path / "sha256-0123abcd"
    blob.write_bytes(tiny.read_bytes())
    assert load_model(str(blob)).num_layers == LAYERS
