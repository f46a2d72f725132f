"""``--lang``: the language of everything a command says, and argparse's own words in it.

The language is decided before the parser is built, from the command line's words (``--lang
zh``, ``--lang=en``, on the command or before it; the last one wins, as in argparse) or else the
locale (:func:`gpuwise.i18n.from_environment`). Help texts are :func:`help_text` placeholders,
rendered only when help is shown, so a command answering ``--json`` reads no catalogue at all.
argparse's own words ("usage:", "the following arguments are required: %s") are looked up in the
catalogue's ``argparse.*`` messages through the gettext hook argparse calls (``argparse._``).
"""

from __future__ import annotations

import argparse

from gpuwise.i18n import DEFAULT, LANGUAGES, catalogue, parse_language, render, use

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

#: What argparse takes for ``--lang``: the flag and the prefixes of it no other flag shares.
_FLAGS = ("--lang", "--lan", "--la")


def add_lang(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--lang zh|en`` on ``parser``; on a command's parser it sets nothing unless given, so
    that ``gpuwise --lang zh gpus`` keeps the value given before the command."""
    parser.add_argument(
        "--lang",
        type=language_arg,
        default=None if top else argparse.SUPPRESS,
        metavar="zh|en",
        help=help_text("cli.opt.lang"),
    )


def language_arg(value: str) -> str:
    """``--lang``'s value as a catalogue name, or argparse's one-line refusal naming both."""
    found = parse_language(value)
    if found is None:
        raise argparse.ArgumentTypeError(render("cli.lang.invalid", {"value": repr(value)}))
    return found


def language_for(words: list[str], environ: Mapping[str, str] | None = None) -> str:
    """The language a command line asks for: its last usable ``--lang``, else the locale's.
    A ``--lang`` value gpuwise does not speak is left for argparse to refuse (in the locale's
    language)."""
    chosen = None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            break
        value = None
        if word in _FLAGS and i + 1 < len(words):
            value = words[i + 1]
            i += 1
        elif word.partition("=")[0] in _FLAGS and "=" in word:
            value = word.partition("=")[2]
        if value is not None:
            chosen = parse_language(value) or chosen
        i += 1
    if chosen is not None:
        return chosen
    from gpuwise.i18n import from_environment

    return from_environment(environ)


def skips_value(word: str) -> bool:
    """Whether ``word`` is ``--lang`` (or a prefix argparse takes for it) written without its
    value, so the next word is that value, not a command."""
    return word in _FLAGS


class Speaking:
    """While active: messages in ``language``, and argparse's own words too."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._before: tuple[str, Any, Any] | None = None

    def __enter__(self) -> Speaking:
        self._before = (use(self.language), argparse._, argparse.ngettext)  # type: ignore[attr-defined]
        if self.language != DEFAULT:
            argparse._ = _gettext  # type: ignore[attr-defined]
            argparse.ngettext = _ngettext  # type: ignore[attr-defined]
        else:  # argparse's words as they are: gettext would look for catalogues on disk for
            # each of them (and import locale), a millisecond or two of every command
            argparse._ = _as_is  # type: ignore[attr-defined]
            argparse.ngettext = _as_is_plural  # type: ignore[attr-defined]
        return self

    def __exit__(self, *_: object) -> None:
        assert self._before is not None
        language, argparse._, argparse.ngettext = self._before  # type: ignore[attr-defined]
        use(language)


def speaking(language: str) -> Speaking:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    return Speaking(language)


#: argparse's own words (its gettext message ids, Python 3.10-3.13) -> their catalogue keys;
#: the English text of each key is the message id (a test holds them equal).
ARGPARSE_WORDS = {
    "usage: ": "argparse.usage",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "optional arguments": "argparse.optional_arguments",
    "show this help message and exit": "argparse.help",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "the following arguments are required: %s": "argparse.required",
    "one of the arguments %s is required": "argparse.one_required",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "not allowed with argument %s": "argparse.not_allowed",
    "ignored explicit argument %r": "argparse.ignored",
    "expected one argument": "argparse.expected_one",
    "expected at most one argument": "argparse.expected_at_most_one",
    "expected at least one argument": "argparse.expected_at_least_one",
    "expected %s argument": "argparse.expected_n",
    "expected %s arguments": "argparse.expected_n_plural",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "argparse.unknown_parser",
    "unexpected option string: %s": "argparse.unexpected_option",
    "can't open '%(filename)s': %(error)s": "argparse.cannot_open",
}
#: The words argparse asks for while it builds a parser (every run): left as placeholders
#: until help is shown, so that building reads no catalogue.
_AT_BUILD = frozenset({"positional arguments", "options", "optional arguments"})


def _as_is(message: str) -> str:
    return message


def _as_is_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _gettext(message: str) -> str:
    key = ARGPARSE_WORDS.get(message)
    if key is None:
        return message
    if message in _AT_BUILD or message == "show this help message and exit":
        return HelpText(key, {})
    found = catalogue(_current(), "argparse").get(key, message)
    return found if isinstance(found, str) else message


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


def _current() -> str:
    from gpuwise.i18n import current

    return current()


class HelpText(str):
    """A help text not yet rendered: its value is the catalogue key (what argparse checks
    and stores), rendered by :func:`render_help` when help is shown."""

    params: dict[str, Any]

    def __new__(cls, key: str, params: dict[str, Any]) -> HelpText:
        made = super().__new__(cls, key)
        made.params = params
        return made


def help_text(key: str, /, **params: Any) -> str:
    """The help text of message ``key``, rendered only if help is shown."""
    return HelpText(key, params)


def render_help(parser: argparse.ArgumentParser) -> None:
    """Render ``parser``'s :class:`HelpText` placeholders (description, epilog, every
    argument's and command's help) in the language in use; ``%`` escaped for argparse."""
    for name in ("description", "epilog"):
        value = getattr(parser, name)
        if isinstance(value, HelpText):
            setattr(parser, name, render(str(value), value.params))
    for group in parser._action_groups:
        if isinstance(group.title, HelpText):
            group.title = render(str(group.title), group.title.params)
    actions: Iterator[Any] = iter(parser._actions)
    for action in actions:
        _render_action(action)
        for choice in getattr(action, "_choices_actions", ()):
            _render_action(choice)


def _render_action(action: argparse.Action) -> None:
    value = action.help
    if isinstance(value, HelpText):
        action.help = render(str(value), value.params).replace("%", "%%")


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout with lines wrapped by terminal cells, so Chinese help fits the
    terminal as English does."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        from gpuwise.i18n.width import wrap

        return wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        from gpuwise.i18n.width import wrap

        return "\n".join(indent + line for line in wrap(text, width - len(indent)))
