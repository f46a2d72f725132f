"""``gpuwise`` dispatcher: parse, run the command, and turn each way it can fail into one line.

- A user error (:class:`~gpuwise.errors.GpuwiseError`, or a command line argparse refuses): one
  line on stderr, exit 2; with ``--json`` also one error document on stdout.
- A full disk behind stdout: one line, exit 1. A reader that left (``| head``): nothing, exit 0.
- Ctrl-C: one line, exit 130.

``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import gc
import importlib
import os
import sys

from gpuwise._version import __version__
from gpuwise.cli.common import refuse_missing_values
from gpuwise.cli.lang import (
    HelpFormatter,
    add_lang,
    help_text,
    language_for,
    render_help,
    skips_value,
    speaking,
)
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, t

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NoReturn

#: The commands, each a module of this package with ``add_parser`` and ``run``. Only the module
#: of the command asked for is imported (``gpuwise gpus`` never loads the planning code).
COMMANDS = (
    "gpus",
    "gpu",
    "model",
    "plan",
    "explain",
    "recommend",
    "probe",
    "bench",
    "mnist",
    "doctor",
    "serve",
)

#: What writing to a full or capped disk raises (never a read).
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


#: Where an optional flag's action leaves a value that was the command's model.
MODEL_AFTER_FLAG = "_model_after_flag"


class UsageError(GpuwiseError):
    """A command line argparse refused; ``prog`` is the (sub)command it was parsing."""

    def __init__(self, message: str | Message, prog: str) -> None:
        super().__init__(message, code="usage")
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem, then where to look."""

    #: The width help is laid out in: the terminal's (None) only while help or usage is made.
    #: argparse would otherwise read the terminal, importing shutil, for every parser it builds.
    _width: int | None = 78

    def _get_formatter(self) -> argparse.HelpFormatter:
        return HelpFormatter(prog=self.prog, width=self._width)

    def format_help(self) -> str:
        render_help(self)
        return self._at_terminal_width(super().format_help)

    def format_usage(self) -> str:
        return self._at_terminal_width(super().format_usage)

    def _at_terminal_width(self, make: Callable[[], str]) -> str:
        self._width = None
        try:
            return make()
        finally:
            del self._width

    def error(self, message: str) -> NoReturn:
        raise UsageError(Message("cli.usage", problem=message, prog=self.prog), self.prog)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        ns, rest = super().parse_known_args(args, namespace)
        refuse_missing_values(self, ns, args)  # --batch=-- is no value, not an empty list
        # ``--grad-checkpointing MODEL`` (a flag whose value is optional took the model typed
        # after it; cli/workload_flags.py): it is the model when no other was given
        taken = vars(ns).pop(MODEL_AFTER_FLAG, None)
        if taken is not None:
            if getattr(ns, "model", None) is not None:
                raise GpuwiseError(Message("workload.ckpt_value", value=repr(taken)))
            ns.model = taken
        return ns, rest


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, that command's flags in full and the others as
    bare names (enough to parse a command line that names ``only``)."""
    parser = Parser(
        prog="gpuwise",
        description=help_text("cli.description"),
        epilog=help_text("cli.epilog"),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"gpuwise {__version__}",
        help=help_text("cli.opt.version"),
    )
    parser.add_argument("--debug", action="store_true", help=help_text("cli.opt.debug"))
    add_lang(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"gpuwise.cli.{name}").add_parser(sub)
        else:
            sub.add_parser(name)
        add_lang(sub.choices[name])
    # Each command's line in `gpuwise --help`, in the user's language (the catalogue's
    # cli.command.*, whatever its module passed as help=).
    for action in sub._choices_actions:
        action.help = help_text(f"cli.command.{action.dest}")
    return parser


def _command(words: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option of its own
    (``--debug``, ``--version``, ``--help`` take no value), if it is a command."""
    after_lang = False
    for word in words:
        if word == "--":
            return None
        if after_lang:  # the value of --lang, not a command
            after_lang = False
            continue
        if not word.startswith("-"):
            return word if word in COMMANDS else None
        after_lang = skips_value(word)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    # A command's objects live until it ends: the cycle collector, run again and again while a
    # search builds a hundred thousand of them, would cost a fifth of its time and free
    # nothing. Paused for the command, as it was after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if collecting:
            gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    with speaking(language_for(words)):
        return _run(words)


def _run(words: list[str]) -> int:
    # Until the command line is parsed, what it asks for is read from its words.
    where, debug, as_json = "gpuwise", "--debug" in words, _asks_json(words)
    try:
        parser = build_parser(_command(words))
        args = parser.parse_args(words)
        if args.command is None:
            parser.print_help()
            return 0
        where, debug, as_json = f"gpuwise {args.command}", args.debug, getattr(args, "json", False)
        code: int = args.run(args)
        sys.stdout.flush()
        return code
    except GpuwiseError as e:
        if debug and not isinstance(e, UsageError):
            raise
        return _error(e.prog if isinstance(e, UsageError) else where, e, as_json)
    except BrokenPipeError:
        # `gpuwise gpus | head`: the reader left; say nothing and exit quietly.
        _quiet_stdout()
        return 0
    except OSError as e:
        if debug or e.errno not in _DISK_FULL:
            raise
        _quiet_stdout()
        _line(t("cli.cannot_write", where=where, why=e.strerror or str(e)))
        return 1
    except KeyboardInterrupt:
        if debug:
            raise
        _line(t("cli.interrupted", where=where))
        return 130


def _asks_json(words: list[str]) -> bool:
    """Whether the command line holds ``--json`` (or an abbreviation argparse takes for it)."""
    if "--" in words:
        words = words[: words.index("--")]
    return any(len(w) >= 3 and "--json".startswith(w) for w in words)


def _error(where: str, e: GpuwiseError, as_json: bool) -> int:
    """The one line on stderr; with --json, the error document on stdout too."""
    from gpuwise.visible import visible

    # one line, whatever the user's input held (a name with a newline or ESC in it)
    message = e.text()
    _line(t("cli.error", where=where, message=visible(message)))
    if as_json:
        from gpuwise.render.document import dumps, envelope

        try:
            print(dumps(envelope(error={"code": e.code, "message": message})))
            sys.stdout.flush()
        except OSError:
            _quiet_stdout()
    return e.exit_code


def _line(text: str) -> None:
    print(text, file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at the null device once writing to it failed (a reader that left, a full
    disk), so that Python's flush at exit raises no second error."""
    import contextlib  # only on this way out

    with contextlib.suppress(OSError):
        sys.stdout.flush()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a real file (a test's capture): nothing is flushed at exit


def entry() -> None:
    code = main()
    if _nothing_at_exit():
        # Nothing is left to do but free the command's objects and modules one by one (a
        # tenth of a plan's work, a tenth of a search over 10,000 cards): the process ends
        # here, its output flushed. Python's own exit otherwise.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


def _nothing_at_exit() -> bool:
    """Whether Python's exit would only free memory: no function registered to run at exit
    (``logging``, a test's coverage, the web page's, torch's all register one) and no thread
    it would wait for."""
    import atexit

    pending = getattr(atexit, "_ncallbacks", None)
    if pending is None or pending():
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1
