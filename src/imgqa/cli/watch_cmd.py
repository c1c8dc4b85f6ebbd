"""``imgqa watch DIR``: analyse each series that appears in a folder (a scanner's export share).

Polls DIR every ``--poll`` seconds (network shares do not report changes reliably); a file is
taken once its size and modification time are unchanged between two looks. A series is complete
when no new image of it has appeared for ``--quiet`` seconds; it is then analysed (the test
chosen from the images, `imgqa.service.automatic`) and one line is printed per series (one JSON
object per line with ``--format json``). ``--once`` looks twice, analyses what is complete and
exits (for cron jobs and tests). Nothing is saved to the database yet (issue 12, next slice).

Exit codes: 0 (also for an empty folder), 1 when a series could not be analysed or the folder
cannot be read, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path
from types import FrameType

from imgqa.cli._auto import SummaryPrinter
from imgqa.cli._common import StopFlag
from imgqa.service.completion import DEFAULT_QUIET_S
from imgqa.service.watcher import DirectoryWatcher

DEFAULT_POLL_S = 5.0


def _seconds(text: str, minimum: float = 0.0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds >= {minimum:g}")
    return value


def _poll(text: str) -> float:
    return _seconds(text, 0.05)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="analyse each new series that appears in a folder "
                                     "(e.g. a scanner's export share)")
    p.add_argument("folder", metavar="DIR", help="folder to watch (sub-folders included)")
    p.add_argument("--quiet", type=_seconds, default=DEFAULT_QUIET_S, metavar="S",
                   help="a series is complete when no new image has appeared for S seconds "
                        f"(default {DEFAULT_QUIET_S:g})")
    p.add_argument("--poll", type=_poll, default=DEFAULT_POLL_S, metavar="S",
                   help=f"seconds between two looks at the folder (default {DEFAULT_POLL_S:g}); "
                        "a file is taken when unchanged between two looks")
    p.add_argument("--once", action="store_true",
                   help="look twice, analyse the complete series found and exit")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="one line per series: text (default) or one JSON object per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgqa.service.pipeline import AutomaticQC

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"imgqa watch: {folder} is not a folder (or cannot be reached).", file=sys.stderr)
        print("  Check the path; a network share may need to be connected first.",
              file=sys.stderr)
        return 1
    printer = SummaryPrinter(args.format)
    qc = AutomaticQC(printer, quiet_s=args.quiet, prepare=printer.prepare)
    watcher = DirectoryWatcher(folder)
    stop = StopFlag()  # set by the signal handler: no lock (cli._common)

    def look() -> bool:
        try:
            qc.on_files(watcher.poll())
        except OSError as exc:
            print(f"imgqa watch: cannot read {folder}: {exc}", file=sys.stderr)
            return False
        return True

    if args.once:
        ok = look()
        stop.wait(args.poll)
        ok = ok and look()
        qc.flush()
        _report_unsettled(watcher, args.format)
        return 0 if ok and not printer.failures and not qc.failed else 1

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    if args.format == "table":
        print(f"Watching {folder} every {args.poll:g} s; a series is analysed {args.quiet:g} s "
              "after its last new image. Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.is_set():
            look()
            qc.run_due()
            stop.wait(args.poll)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    pending = qc.collector.pending()
    if args.format == "table":
        print(f"Stopped; {printer.series} series analysed"
              + (f", {len(pending)} incomplete series left for the next start" if pending
                 else "") + ".", flush=True)
    return 0


def _report_unsettled(watcher: DirectoryWatcher, fmt: str) -> None:
    if fmt == "table" and watcher.not_dicom:
        print(f"({len(watcher.not_dicom)} file(s) in the folder are not DICOM images and "
              "were skipped)", file=sys.stderr)
