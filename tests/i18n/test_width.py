"""Help text wrapped by terminal cells: no line of Chinese runs past the width, nothing is
lost or reordered, and English wraps at spaces as it always did."""

from __future__ import annotations

import re
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from gpuwise.i18n.width import _pieces, cells, wrap

WORDS = st.sampled_from(
    [
        "显存",
        "梯度检查点",
        "，",
        "。",
        "（",
        "）",
        "；",
        "GB",
        "--lang",
        "model.parameters()",
        "a",
        "FlashAttention",
        "24",
        "'RTX 40'",
        "：",
        "混合精度训练",
        "x" * 30,
    ]
)


def test_cells_counts_wide_characters_twice():
    assert cells("GB") == 2 and cells("显存") == 4 and cells("（）") == 4 and cells("é") == 1


@given(
    words=st.lists(WORDS, max_size=40),
    spaces=st.lists(st.booleans(), max_size=40),
    width=st.integers(8, 80),
)
def test_wrapped_lines_fit_and_keep_every_character(words, spaces, width):
    text = "".join(
        w + (" " if s else "") for w, s in zip(words, spaces + [False] * 40, strict=False)
    )
    # punctuation is written against what it closes or opens, as Chinese text is
    text = re.sub(r" +([，。；）：])", r"\1", re.sub(r"（ +", "（", text))
    lines = wrap(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        # only a piece that cannot be broken (a long word) may be wider than the line
        assert cells(line) <= width or len(_pieces(line)) == 1, (line, width)
    for line in lines[:-1]:
        assert not line.endswith("（"), lines
    for line in lines[1:]:
        assert not line.startswith(("，", "。", "；", "）", "：")), lines


@given(
    st.lists(st.from_regex(r"[a-z]{1,12}[.,;:]?", fullmatch=True), max_size=60),
    st.integers(10, 100),
)
def test_english_wraps_as_textwrap_does(words, width):
    text = " ".join(words)
    assert wrap(text, width) == textwrap.wrap(text, width, break_long_words=False)
