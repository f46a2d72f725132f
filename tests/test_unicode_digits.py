"""Characters Python calls digits but int() refuses (superscripts, circled numbers) are read
as not-a-number, never a ValueError traceback: every place that checks str.isdigit() before
int() checks isascii() too."""

from __future__ import annotations

import pytest

from gpuwise.doctor.verdict import _cuda_of
from gpuwise.errors import GpuwiseError
from gpuwise.infer.engine import gpu_layers
from gpuwise.models import load_model
from gpuwise.models.gguf_file import _layer

ODD = ["²", "-²", "①", "1²", "٣"]  # "٣" (Arabic-Indic three) int() reads: it is refused too


@pytest.mark.parametrize("value", ODD)
def test_gpu_layers_refuses_them_in_one_line(value):
    with pytest.raises(GpuwiseError, match="not a number of layers"):
        gpu_layers(value, load_model("llama-3.2-1b"))


@pytest.mark.parametrize("value", ODD)
def test_a_cuda_version_or_a_tensor_layer_with_them_is_unreadable(value):
    assert _cuda_of(f"{value}.8") is None and _cuda_of(f"12.{value}") is None
    assert _layer(f"blk.{value}.attn_q.weight") is None


def test_plain_digits_still_read():
    assert gpu_layers("12", load_model("llama-3.2-1b")) == 12
    assert _cuda_of("12.8") == (12, 8) and _layer("blk.7.attn_q.weight") == 7
