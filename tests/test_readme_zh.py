"""README.zh-CN.md beside the README: linked from the README's first line, with the same two
set-up commands and the same command table (the first column, command for command)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_ZH = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def setup_commands(text: str) -> list[str]:
    """The code blocks before the first rule (``---``): the set-up commands."""
    first_screen = text.split("\n---\n", 1)[0]
    return re.findall(r"```bash\n(.*?)```", first_screen, re.DOTALL)


def command_table(text: str) -> list[str]:
    """The first cell of every row of the table of commands."""
    rows = []
    for line in text.splitlines():
        cell = re.match(r"\| (`gpuwise [^|]*(?:\\\|[^|]*)*) \|", line)
        if cell:
            rows.append(cell.group(1))
    return rows


def test_the_readme_links_the_chinese_readme_on_its_first_line():
    assert "(README.zh-CN.md)" in README.splitlines()[0]
    assert "(README.md)" in README_ZH.splitlines()[0]


def test_both_readmes_give_the_same_two_setup_commands():
    assert len(setup_commands(README)) == 2
    assert setup_commands(README_ZH) == setup_commands(README)


def test_both_readmes_list_the_same_commands():
    english = command_table(README)
    assert len(english) >= 10 and english[0].startswith("`gpuwise gpus")
    assert command_table(README_ZH) == english


def test_the_chinese_readme_is_chinese():
    prose = re.sub(r"`[^`]*`|\([^)]*\)|```.*?```", "", README_ZH, flags=re.DOTALL)
    han = len(re.findall(r"[\u4e00-\u9fff]", prose))
    assert han > 1000, han
