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
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from imgqa.errors import ImgqaError, UsageError

# Subcommand modules, in the order `imgqa --help` lists them. A module that is missing (a
# feature not yet installed) is skipped so the rest of the CLI keeps working.
SUBCOMMANDS = [
    "gui", "info", "protocols", "analyse", "phantoms", "validate",
    "db", "equipment", "baseline", "tolerance", "review", "history", "export", "receive",
    "record",
]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE: the shell's code for a filter whose reader left


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with a short message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"imgqa: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from imgqa import __version__

    parser = _Parser(prog="imgqa", description="Imaging quality control for X-ray, CT, MRI "
                     "and gamma cameras. Without a command, opens the desktop application.")
    parser.add_argument("--version", action="version", version=f"imgqa {__version__}")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="results database (SQLAlchemy URL or SQLite file path); "
                             "default: $IMGQA_DB or the user data directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"imgqa.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("imgqa.cli."):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
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


def entry() -> None:
    """Console-script entry: `main`, ending quietly when the output pipe is closed early."""
    try:
        code = main()
        sys.stdout.flush()  # a closed pipe shows here when the output was still buffered
    except BrokenPipeError:
        # Python ignores SIGPIPE, so `imgqa … | head` raises on write. Point stdout at devnull
        # so the interpreter's final flush cannot raise (and print) again, then exit as a Unix
        # filter killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    sys.exit(code)


if __name__ == "__main__":
    entry()
