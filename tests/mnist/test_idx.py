"""The IDX reader: what it writes it reads back; every malformed file is one clear error."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gpuwise.errors import GpuwiseError
from gpuwise.mnist.idx import encode_idx, parse_idx, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
arrays = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5))
)
fs_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_mnist_header_layout():
    # images: magic 0x00000803, then count, rows, cols as big-endian uint32
    raw = encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert raw[:16] == bytes.fromhex("00000803000000020000001c0000001c")
    assert len(raw) == 16 + 2 * 28 * 28
    assert encode_idx(np.arange(3, dtype=np.uint8))[:8] == bytes.fromhex("0000080100000003")


@fs_settings
@given(array=arrays, gz=st.booleans())
def test_round_trip(tmp_path, array, gz):
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


@settings(max_examples=80, deadline=None)
@given(array=arrays, data=st.data())
def test_truncated_file_is_refused(array, data):
    raw = encode_idx(array)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(GpuwiseError, match=r"short|truncated"):
        parse_idx(raw[:cut], "f")


@settings(max_examples=60, deadline=None)
@given(array=arrays, extra=st.binary(min_size=1, max_size=20))
def test_trailing_bytes_are_refused(array, extra):
    with pytest.raises(GpuwiseError, match="after the data"):
        parse_idx(encode_idx(array) + extra, "f")


@settings(max_examples=100, deadline=None)
@given(head=st.binary(min_size=4, max_size=4), rest=st.binary(max_size=64))
def test_wrong_magic_is_refused(head, rest):
    valid = head[0] == 0 and head[1] == 0 and head[2] in (8, 9, 11, 12, 13, 14) and head[3] > 0
    if valid:
        return  # a valid magic number: the other tests cover what follows it
    with pytest.raises(GpuwiseError, match="not an IDX file"):
        parse_idx(head + rest, "f")


@settings(max_examples=60, deadline=None)
@given(junk=st.binary(min_size=0, max_size=200))
def test_corrupt_gzip_is_refused(tmp_path_factory, junk):
    path = tmp_path_factory.mktemp("gz") / "x.gz"
    path.write_bytes(b"\x1f\x8b" + junk)
    with pytest.raises(GpuwiseError):
        read_idx(path)


def test_truncated_gzip_stream_is_refused(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(encode_idx(np.ones((4, 3), np.uint8)))[:-6])
    with pytest.raises(GpuwiseError, match="gzip"):
        read_idx(path)
