"""Real llama.cpp against gpuwise's llama.cpp memory: llama-cpp-python (llama.cpp built for the
CPU; the ``llamacpp-check`` extra, installed by .ci/run) loads small GGUF files this test writes
with the ``gguf`` package (random weights, a few layers, f16 / q8_0 / q4_0 weights, contexts of
256, 1,000 and 4,096 cells, flash attention off and on, f16 / q8_0 / q4_0 KV cache) with
``n_gpu_layers=0``, and its log says what it allocated: ``model buffer size``, ``KV buffer size``
and ``compute buffer size`` (llama.cpp prints each in MiB with two decimals, so figures are held
to 0.01 MiB).

- Weights: gpuwise's bytes of the file's tensors, at their GGUF types, equal the model buffer
  (the gguf package's reader agrees; q4_0 on an x86 CPU is repacked into a CPU_REPACK buffer,
  a layout of the CPU backend's own, ggml-cpu/repack.cpp, so its mapped buffer is not compared);
  for f16 and q8_0 files (where llama.cpp's quantizer stores every matrix at the file's type)
  so do the bytes gpuwise plans a q8_0 / f16 model with. A q4_0 file written here is "pure"
  (every matrix q4_0); llama-quantize would store output.weight as q6_k, as gpuwise plans it.
- KV cache: gpuwise's bytes equal llama.cpp's at every context, cache type and flash-attention
  setting (the context rounded up to 256 cells, q8_0 / q4_0 in their 34- / 18-byte blocks).
- Compute buffer: this is the graph allocator's peak for one ubatch (llama-context.cpp,
  ``graph_reserve``; ggml-alloc.c), and the terms that grow with the context are the same graph
  tensors on the CPU and CUDA backends: without flash attention the f32 KQ scores (ubatch x
  cells x heads) and the f32 mask (ubatch x cells); with it only the f16 mask (ubatch x cells).
  gpuwise's formula (the CUDA compute buffer, as Ollama estimates it) has exactly those terms:
  its growth from 1,024 to 4,096 cells equals llama.cpp's here. What differs is the part linear
  in the ubatch alone: the CPU backend's graph keeps 6 x n_embd floats a token live beside the
  scores without flash attention (measured here on two model shapes); gpuwise's CUDA figure
  counts 4 x n_embd + 1. And CUDA's real use is more than its compute buffer: its MMQ kernels
  convert the activations to q8_1 in the CUDA memory pool (ggml-cuda/mmq.cu,
  ``ggml_cuda_pool_alloc``), outside the graph allocator, where the CPU backend uses its work
  buffer (ggml-cpu.c, ``ggml_graph_plan``'s ``work_size``), also outside the compute buffer;
  gpuwise counts that pool in the CUDA context it adds (data/llamacpp.json).
"""

from __future__ import annotations

import contextlib
import io
import os
import re

import numpy as np
import pytest

from gpuwise.infer.engine import EngineSettings
from gpuwise.infer.memory import compute_buffer, kv_per_token, padded_ctx, weight_split
from gpuwise.models import load_model

if os.environ.get("GPUWISE_LLAMACPP_CHECK") == "1":  # CI: the check must run, never skip
    import llama_cpp
else:
    llama_cpp = pytest.importorskip("llama_cpp")
gguf = pytest.importorskip("gguf")

MIB = 2**20
#: llama.cpp logs sizes in MiB to two decimals.
LOGGED = 0.01 * MIB
#: GGUF file types (llama_ftype) and the GGML type of their matrices.
FILES = {"f16": (1, "F16"), "q8_0": (7, "Q8_0"), "q4_0": (2, "Q4_0")}
#: llama.cpp's GGML type ids of the cache types (ggml.h).
CACHE = {"f16": 1, "q8_0": 8, "q4_0": 2}
SHAPE_A = {"n_layer": 2, "n_embd": 256, "n_head": 4, "n_kv": 2, "n_ff": 512}
SHAPE_B = {"n_layer": 3, "n_embd": 512, "n_head": 8, "n_kv": 4, "n_ff": 1536}


def write_gguf(path: str, kind: str, n_layer: int, n_embd: int, n_head: int, n_kv: int, n_ff: int):
    """A Llama-architecture GGUF file with random weights: matrices at ``kind``'s type, norms
    f32, a 512-token SentencePiece-style vocabulary (unknown, BOS, EOS, 256 byte tokens)."""
    ftype, ggml = FILES[kind]
    qtype = getattr(gguf.GGMLQuantizationType, ggml)
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(f"tiny-{kind}")
    w.add_context_length(4096)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(ftype)
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{i:02X}>" for i in range(256))]
    tokens += [f"t{i}" for i in range(512 - len(tokens))]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * len(tokens))
    w.add_token_types([2, 3, 3] + [6] * 256 + [1] * (len(tokens) - 259))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def tensor(name: str, *shape: int) -> None:
        x = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        if len(shape) == 1:
            w.add_tensor(name, x)
        elif kind == "f16":
            w.add_tensor(name, x.astype(np.float16))
        else:
            data = gguf.quants.quantize(x, qtype)
            w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)

    head_dim = n_embd // n_head
    tensor("token_embd.weight", len(tokens), n_embd)
    for i in range(n_layer):
        tensor(f"blk.{i}.attn_norm.weight", n_embd)
        tensor(f"blk.{i}.attn_q.weight", n_embd, n_embd)
        tensor(f"blk.{i}.attn_k.weight", n_kv * head_dim, n_embd)
        tensor(f"blk.{i}.attn_v.weight", n_kv * head_dim, n_embd)
        tensor(f"blk.{i}.attn_output.weight", n_embd, n_embd)
        tensor(f"blk.{i}.ffn_norm.weight", n_embd)
        tensor(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        tensor(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        tensor(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    tensor("output_norm.weight", n_embd)
    tensor("output.weight", len(tokens), n_embd)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def allocated(path: str, n_ctx: int, flash_attn: bool, kv: str, ubatch: int = 512) -> dict:
    """What llama.cpp (CPU, no GPU layers) says it allocated for ``path``, in bytes."""
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        model = llama_cpp.Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_batch=ubatch,
            n_ubatch=ubatch,
            n_gpu_layers=0,
            flash_attn=flash_attn,
            type_k=CACHE[kv],
            type_v=CACHE[kv],
            verbose=True,
        )
        model.close()
    text = log.getvalue()

    def mib(what: str, needed: bool = True) -> int:
        found = re.findall(rf"{what} size\s*=\s*([\d.]+) MiB", text)
        assert len(found) == (1 if needed else len(found[:1])), text
        return round(float(found[0]) * MIB) if found else 0

    return {
        # the file's tensors, mapped; the CPU backend may add a CPU_REPACK buffer, its own
        # interleaved copy of q4_0 matrices for its SIMD kernels (ggml-cpu/repack.cpp), which
        # no GPU backend makes
        "weights": mib("CPU(?:_Mapped)? model buffer"),
        "repack": mib("CPU_REPACK model buffer", needed=False),
        "kv": mib("KV buffer"),
        "compute": mib("compute buffer"),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    out = {}
    for kind in FILES:
        path = str(folder / f"a-{kind}.gguf")
        write_gguf(path, kind, **SHAPE_A)
        out[kind] = path
    path = str(folder / "b-q8_0.gguf")
    write_gguf(path, "q8_0", **SHAPE_B)
    out["b"] = path
    return out


def _settings(kind: str, n_ctx: int, fa: bool, kv: str) -> EngineSettings:
    return EngineSettings("llama.cpp", kind, kv_type=kv, flash_attn=fa, n_ctx=n_ctx)


@pytest.mark.parametrize("kind", list(FILES))
def test_weights_are_the_files_tensors_at_their_types(cli, files, kind):
    path = files[kind]
    got = allocated(path, 256, False, "f16")
    header = cli("model", path, "--json").json()["gguf"]
    assert header["file_type"] == kind
    # the gguf package's own reader agrees on the bytes of the file's tensors
    assert header["weights_bytes"] == sum(int(t.n_bytes) for t in gguf.GGUFReader(path).tensors)
    if got["repack"]:  # q4_0 on an x86 CPU: its matrices live in the repacked copy instead
        assert kind == "q4_0"
        return
    assert abs(header["weights_bytes"] - got["weights"]) <= LOGGED
    if kind != "q4_0":  # llama-quantize stores every matrix at the file's type
        ws = weight_split(load_model(path), kind)
        assert abs(sum(ws.layers) + ws.output + ws.token_embd - got["weights"]) <= LOGGED


@pytest.mark.parametrize("n_ctx", [256, 1000, 4096])
@pytest.mark.parametrize(
    ("fa", "kv"), [(False, "f16"), (True, "f16"), (True, "q8_0"), (True, "q4_0")]
)
def test_kv_cache_is_llama_cpps(files, n_ctx, fa, kv):
    for kind in ("f16", "q4_0"):
        spec = load_model(files[kind])
        got = allocated(files[kind], n_ctx, fa, kv)["kv"]
        planned = kv_per_token(spec, kv) * padded_ctx(n_ctx) * spec.num_layers
        assert abs(planned - got) <= LOGGED, (kind, n_ctx, fa, kv)


@pytest.mark.parametrize("shape", ["a", "b"])
@pytest.mark.parametrize(("fa", "kv"), [(False, "f16"), (True, "f16"), (True, "q8_0")])
def test_the_compute_buffer_grows_with_the_context_as_planned(files, shape, fa, kv):
    """The terms that grow with the context (KQ scores, mask) are llama.cpp's."""
    path = files["q8_0" if shape == "a" else "b"]
    spec = load_model(path)
    short = allocated(path, 1024, fa, kv)["compute"]
    long = allocated(path, 4096, fa, kv)["compute"]

    def planned(n: int) -> int:
        return compute_buffer(spec, _settings("q8_0", n, fa, kv), padded_ctx(n), True)

    assert abs((long - short) - (planned(4096) - planned(1024))) <= 2 * LOGGED


@pytest.mark.parametrize("shape", ["a", "b"])
def test_the_cpu_backends_remainder_is_six_hidden_sizes_a_token(files, shape):
    """Without flash attention, beside the scores and the mask, the CPU graph keeps 6 x n_embd
    floats a token (gpuwise's CUDA figure counts 4 x n_embd + 1): what the module's doc says."""
    path = files["q8_0" if shape == "a" else "b"]
    spec = load_model(path)
    for n_ctx, ubatch in ((1024, 512), (4096, 128)):
        got = allocated(path, n_ctx, False, "f16", ubatch)["compute"]
        scores_and_mask = 4 * ubatch * n_ctx * (spec.num_attention_heads + 1)
        rest = got - scores_and_mask
        assert abs(rest - 4 * ubatch * 6 * spec.hidden_size) <= 2 * LOGGED, (n_ctx, ubatch)
