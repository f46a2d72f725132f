"""Which language a user asked for: ``--lang`` (``zh``, ``en``, or a tag such as ``zh-CN``) or
the locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in the order gettext reads
them). A locale gpuwise has no catalogue for means English, silently, as locales do."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

#: The languages gpuwise speaks, by their catalogue names; the first is the default.
LANGUAGES = ("en", "zh-CN")
DEFAULT = LANGUAGES[0]

#: What ``--lang`` takes for each language (case-insensitive; ``_`` as ``-``).
_TAGS = {
    "en": "en",
    "zh": "zh-CN",
    "zh-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-hans-cn": "zh-CN",
    "zh-sg": "zh-CN",
}
#: The environment variables that name the language of messages, first found wins (gettext's
#: order; ``LANGUAGE`` may list several, ``zh_CN:en``).
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def parse_language(value: str) -> str | None:
    """The catalogue name ``value`` asks for (``"zh"`` -> ``"zh-CN"``), or None."""
    key = value.strip().lower().replace("_", "-")
    if key.startswith("en-"):
        key = "en"  # en-US, en-GB: one English
    return _TAGS.get(key)


def _of_locale(locale: str) -> str | None:
    """The language of one locale name: ``zh_CN.UTF-8`` -> ``zh-CN``, ``C`` -> ``en``; None for
    a locale gpuwise has no catalogue for (``fr_FR``) or no locale at all."""
    name = locale.split(".", 1)[0].split("@", 1)[0].strip()
    if name in ("C", "POSIX"):
        return DEFAULT
    language = name.replace("-", "_").split("_", 1)[0].lower()
    if language == "zh":
        return "zh-CN"  # zh_TW, zh_HK included: Simplified reads better than English there
    if language == "en":
        return DEFAULT
    return None


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the locale names: the first of :data:`LOCALE_VARIABLES` that is set
    decides (``LANGUAGE``: its first entry gpuwise speaks); else, or for a language gpuwise does
    not speak, English."""
    if environ is None:
        import os

        environ = os.environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if not value:
            continue
        if variable == "LANGUAGE":
            # gettext ignores LANGUAGE under the C locale; so does gpuwise
            if _locale_is_c(environ):
                continue
            for entry in value.split(":"):
                found = _of_locale(entry)
                if found is not None:
                    return found
            continue
        return _of_locale(value) or DEFAULT
    return DEFAULT


def _locale_is_c(environ: Mapping[str, str]) -> bool:
    for variable in LOCALE_VARIABLES[1:]:
        value = environ.get(variable, "")
        if value:
            return value.split(".", 1)[0] in ("C", "POSIX")
    return True
