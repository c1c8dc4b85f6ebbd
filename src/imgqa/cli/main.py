"""``imgqa`` entry point: builds the parser from the subcommand modules and dispatches.

Each subcommand module defines ``register(subparsers)`` that adds its parser and sets
``func=run`` where ``run(args) -> int`` returns the exit code. Exit codes: 0 all went well,
1 some inputs were rejected or a check failed, 2 usage errors (argparse's own, an unknown test
name, a bad ``--param``), 130 interrupted, 141 the reader of the output went away
(``imgqa … | head``): 128 + SIGPIPE, what a shell reports for ``yes | head``, so pipelines with
``set -o pipefail`` see the same code as for any Unix filter, but no traceback is printed.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from imgqa import _blas, _lean_imports
from imgqa.errors import ImgqaError, UsageError

# Subcommand modules, in the order `imgqa --help` lists them. A module that is missing (a
# feature not yet installed) is skipped so the rest of the CLI keeps working.
SUBCOMMANDS = [
    "gui", "info", "protocols", "analyse", "phantoms", "validate",
    "db", "equipment", "baseline", "tolerance", "review", "history", "export", "receive",
    "record", "watch", "schedule", "due", "rule", "serve", "session", "notify",
]

# Other names a subcommand module registers, so `imgqa analyze …` also loads only its module.
_ALIASES = {"analyze": "analyse"}
# Top-level options that take no value (``--db`` takes one); any other option before the command
# (``-h``, an abbreviation, a typo) makes the whole parser be built, as argparse then needs it.
_PLAIN_OPTIONS = ("-v", "--verbose")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE: the shell's code for a filter whose reader left

# True in the process `entry` runs (the ``imgqa`` command itself), where the garbage collector is
# paused for the start-up; False when a program or a test calls `main`.
_command_process = False


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 2 with a short message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"imgqa: error: {message}\n")


def subcommands_for(argv: Sequence[str]) -> list[str]:
    """The subcommand modules `main` must import to parse ``argv``.

    Importing a module imports what its command runs (the protocols and their kernels for
    ``analyse``, the database layer for ``history``), so a command loads only its own module:
    ``imgqa --version`` loads none. Whenever the command cannot be told for sure (no command, the
    top-level ``--help``, an unknown name or option), every module is loaded so the help and the
    error messages list all commands, exactly as before.
    """
    tokens = iter(argv)
    for tok in tokens:
        if tok == "--version":  # argparse prints the version as soon as it reads this option
            return []
        if tok == "--db":
            next(tokens, None)
        elif tok.startswith("--db=") or tok in _PLAIN_OPTIONS:
            continue
        elif tok.startswith("-"):
            return list(SUBCOMMANDS)
        else:
            name = _ALIASES.get(tok, tok)
            return [name] if name in SUBCOMMANDS else list(SUBCOMMANDS)
    return list(SUBCOMMANDS)


def build_parser(subcommands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``imgqa`` parser with the given subcommands (default: all, in `SUBCOMMANDS` order)."""
    from imgqa._version import __version__

    parser = _Parser(prog="imgqa", description="Imaging quality control for X-ray, CT, MRI "
                     "and gamma cameras. Without a command, opens the desktop application.")
    parser.add_argument("--version", action="version", version=f"imgqa {__version__}")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="results database (SQLAlchemy URL or SQLite file path); "
                             "default: $IMGQA_DB or the user data directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS if subcommands is None else subcommands:
        try:
            module = importlib.import_module(f"imgqa.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("imgqa.cli."):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(subcommands_for(words))
    if _command_process and not gc.isenabled():  # the first command of the process only
        _end_of_start_up()
    args = parser.parse_args(words)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        args = parser.parse_args(["gui", *([] if argv is None else list(argv))]) \
            if "gui" in parser._subparsers._group_actions[0].choices else args  # type: ignore
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except ImgqaError as exc:
        print(f"imgqa: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # not an error of the command: `entry` ends quietly
        raise
    except Exception as exc:  # last resort: a technologist sees a sentence, never a traceback
        logging.getLogger("imgqa").debug("unexpected error", exc_info=True)
        print(f"imgqa: the command stopped on an unexpected error: {exc or type(exc).__name__}",
              file=sys.stderr)
        print("  Nothing already saved is lost. Rerun with -v to see the details and report "
              "them to the imgqa maintainers.", file=sys.stderr)
        return EXIT_PROBLEMS


def _end_of_start_up() -> None:
    # Start-up imports numpy, pydicom and the protocol declarations: objects that live until the
    # process ends, which the collector, paused by `entry`, would otherwise scan ≈ 175 times.
    # Freezing them (documented `gc.freeze`) keeps them out of every later collection; the
    # collector then runs as usual for the command itself (a GUI or service session included).
    gc.freeze()
    gc.enable()


def entry(argv: Sequence[str] | None = None) -> None:
    """Console-script entry: `main`, ending quietly when the output pipe is closed early.

    First of all, single-threaded BLAS for this process and its workers unless the user set a
    thread count (`imgqa._blas`): it only works before numpy is imported, and nothing this
    module imports at its top imports numpy (tests/test_blas_threads.py checks both). Then the
    lean-import hooks (`imgqa._lean_imports`): pydicom's image codecs on first use, and none of
    SciPy's import-time docstring parsing (≈ 0.1 s of every command that analyses).

    The garbage collector is paused while the command's modules are imported (`main` resumes
    it once the parser is built) and everything still alive is frozen before exiting, so that
    the interpreter's final collections do not scan the loaded libraries again: ≈ 0.15 s of CPU
    per command (docs/validation.md, "Whole-process CLI timings"). What is skipped at exit is
    only the collection of reference cycles among objects alive when the command ended: their
    memory goes back to the system with the process, as for any exiting program, and imgqa
    closes every file it writes where it writes it (``with`` blocks), never in a finaliser.

    Parameters
    ----------
    argv
        The arguments (default ``sys.argv[1:]``), e.g. from the bundle's entry script.
    """
    global _command_process
    _blas.apply()
    _lean_imports.apply()
    _command_process = True
    gc.disable()
    try:
        code = main(argv)
        if sys.stdout is not None:  # None in a windowed bundle (imgqa-gui.exe)
            sys.stdout.flush()  # a closed pipe shows here when the output was still buffered
    except BrokenPipeError:
        # Python ignores SIGPIPE, so `imgqa … | head` raises on write. Point stdout at devnull
        # so the interpreter's final flush cannot raise (and print) again, then exit as a Unix
        # filter killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    finally:
        gc.enable()   # in case start-up ended early (--version, --help, a usage error)
        gc.freeze()   # the process ends now: no final scans of what is still loaded
    sys.exit(code)


if __name__ == "__main__":
    entry()
