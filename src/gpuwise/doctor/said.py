"""What doctor says that is not one catalogue message: a text from its data files, and notes
said one after the other.

The notes that explain a fact (why a PyTorch default build or a TensorFlow arch list is not
confirmed) live beside the fact and its source in data/compat.json and data/frameworks.json,
each in English (``note``) and Chinese (``note_zh``), so that a fact, its source and what is
said about it are edited together; a test holds every note to have both.
"""

from __future__ import annotations

from gpuwise.i18n import Message, Text, current


class DataText(Message):
    """A data file's text and its Chinese: a :class:`~gpuwise.i18n.Message` whose texts come
    with it instead of from the catalogue (``str(error)`` and JSON render it as any message)."""

    __slots__ = ()

    def __init__(self, en: str, zh: str) -> None:
        super().__init__("doctor.data_text", en=en, zh=zh)

    def render(self, language: str | None = None) -> str:
        text: str = self.params["zh" if (language or current()) == "zh-CN" else "en"]
        return text


def data_text(entry: dict[str, object], field: str) -> DataText:
    """``entry[field]`` with its Chinese ``entry[field + "_zh"]``."""
    return DataText(str(entry[field]), str(entry[f"{field}_zh"]))


def joined(notes: list[Text]) -> Text | None:
    """Notes said one after the other (``a; b``), None for none."""
    if not notes:
        return None
    out = notes[0]
    for note in notes[1:]:
        out = Message("doctor.notes", first=out, then=note)
    return out


def listed(items: list[Text]) -> Text:
    """Items said as a list (``a, b, c``)."""
    if not items:
        return ""
    out = items[0]
    for item in items[1:]:
        out = Message("doctor.list", first=out, then=item)
    return out
