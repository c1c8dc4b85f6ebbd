"""``imgqa serve``: the hands-off QC service — DICOM receiver + folder watchers + automatic
analysis, each complete series routed by the routing rules (``imgqa rule``) and saved as a
session pending review (`imgqa.service.saving`). Runs in the foreground until SIGTERM or
SIGINT, then stops listening, analyses and saves every series it has acknowledged, and exits 0.

Each saved session's line gives its worst status. With e-mail notifications set up
(``notify.toml``, `imgqa.service.notify_settings`), a saved session at or above the level is
mailed, and the overdue tests are checked at start and every `_OVERDUE_CHECK_S` seconds (each
mailed at most once a day); a failed e-mail is printed and counted, never stops the service.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from imgqa.cli._common import StopFlag
from imgqa.cli.receive_cmd import _LOOPBACK, _ae_title, _port, _quiet, add_policy_arguments
from imgqa.io.receiver import DEFAULT_HOST, StorageReceiver
from imgqa.paths import inbox_dir

if TYPE_CHECKING:
    from imgqa.service.notify import Notifier
    from imgqa.service.pipeline import AutomaticQC

# How often the service looks at the due list for overdue tests to mail (seconds); the state
# file keeps each test to one e-mail a day whatever the frequency of the checks.
_OVERDUE_CHECK_S = 900.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run automatic QC: receive, watch, analyse by the "
                                     "routing rules and save sessions pending review",
                       description="Receiver (DICOM C-STORE) + folder watchers + automatic "
                       "analysis in one process. Each complete series is routed by the "
                       "routing rules (`imgqa rule`), analysed and saved as a session "
                       "pending review (`imgqa review`); a series no rule matches waits in "
                       "the inbox, listed with the reason in waiting.jsonl there. Stops on "
                       "SIGTERM/Ctrl-C after saving what it acknowledged (exit 0).")
    p.add_argument("--port", type=_port, default=11112, help="TCP port (default 11112)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this computer only; "
                        "0.0.0.0 for every interface)")
    p.add_argument("--ae-title", type=_ae_title, default="IMGQA",
                   help="our AE title (default IMGQA); scanners must address it exactly")
    add_policy_arguments(p)
    p.add_argument("--inbox", default=None, help="folder received images are filed into "
                   "(default: the inbox in the user data folder)")
    p.add_argument("--archive", default=None, metavar="DIR",
                   help="image archive folder (e.g. a department share): each saved "
                        "session's images are copied there under equipment/date/series and "
                        "recorded with the session; default $IMGQA_ARCHIVE or the GUI "
                        "setting, else not archived")
    p.add_argument("--watch", action="append", default=None, metavar="DIR",
                   help="also watch this folder for exported series (repeatable)")
    p.add_argument("--quiet", type=_quiet, default=None, metavar="S",
                   help="a series is complete when no new image has arrived for S seconds "
                        "(default 10)")
    p.add_argument("--poll", type=float, default=5.0, metavar="S",
                   help="seconds between two looks at each --watch folder (default 5)")
    p.add_argument("--recover-days", type=float, default=7.0, metavar="N",
                   help="at start, analyse images received in the last N days that a kill or "
                        "crash left unanalysed in the inbox (default 7; 0: none)")
    p.add_argument("--no-listen", action="store_true",
                   help="do not run the receiver (only the --watch folders)")
    p.set_defaults(func=run)


def _archive_root(given: str | None) -> Path | None:
    """The image archive root (``--archive``, ``$IMGQA_ARCHIVE``, GUI setting), checked now:
    a share that is not mounted is said at start, not at the first series."""
    from imgqa.cli.archive_check import archive_root_from
    from imgqa.io.image_archive import require_root

    root = archive_root_from(given)
    return None if root is None else require_root(root, create=True)


def run(args: argparse.Namespace) -> int:
    from imgqa.cli.db_cmd import open_from_args
    from imgqa.service.completion import DEFAULT_QUIET_S
    from imgqa.service.pipeline import AutomaticQC
    from imgqa.service.recovery import marking_handler
    from imgqa.service.saving import SessionSaver

    folders = [Path(d) for d in args.watch or ()]
    for d in folders:
        if not d.is_dir():
            print(f"imgqa serve: {d} is not a folder (or cannot be reached).", file=sys.stderr)
            return 1
    if args.no_listen and not folders:
        print("imgqa serve: --no-listen needs at least one --watch folder.", file=sys.stderr)
        return 2
    inbox = Path(args.inbox) if args.inbox else inbox_dir()
    inbox.mkdir(parents=True, exist_ok=True)
    archive = _archive_root(args.archive)
    notifier = _notifier()
    with open_from_args(args) as store:
        saver = SessionSaver(store, inbox, report=lambda s: _say(s.line()),
                             archive=archive, notifier=notifier)
        def prepare(completes: list) -> None:  # a burst: analysed together, then saved
            n = saver.prepare(completes)
            if n:
                _say(f"analysed {n} series at once on worker processes")

        qc = AutomaticQC(marking_handler(saver, inbox),
                         quiet_s=DEFAULT_QUIET_S if args.quiet is None else args.quiet,
                         prepare=prepare)
        # Signals first: a SIGTERM that comes while the service starts (a service manager
        # stopping it at once) must also end in a clean stop with exit code 0.
        stop = StopFlag()  # set by the signal handler: no lock (cli._common)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        old_term = signal.signal(signal.SIGTERM, on_signal)
        old_int = signal.signal(signal.SIGINT, on_signal)
        rx = None
        try:
            _recover(inbox, qc, args.recover_days)
            if not args.no_listen:
                rx = StorageReceiver(inbox=inbox, port=args.port, ae_title=args.ae_title,
                                     host=args.host, allowed_ae_titles=args.allow_ae,
                                     allowed_hosts=tuple(args.allow_host or ()),
                                     on_received=qc.on_received)
                try:
                    rx.start()
                except OSError as exc:
                    print(f"imgqa: cannot listen on {args.host or 'all interfaces'} port "
                          f"{args.port}: {exc.strerror or exc}", file=sys.stderr)
                    return 1
            _announce(args, store, rx, inbox, folders, archive)
            _loop(qc, stop, folders, args.poll, store, notifier)
        finally:
            if rx is not None:
                rx.stop()  # no new association; what was acknowledged is on disk
            signal.signal(signal.SIGTERM, old_term)
            signal.signal(signal.SIGINT, old_int)
        qc.flush()  # every acknowledged image of an unfinished series is analysed now
        counts = {k: sum(o.state == k for o in saver.outcomes)
                  for k in ("saved", "duplicate", "waiting", "failed")}
        mails = ""
        if notifier is not None:
            notifier.close(notifier.settings.timeout_s * 2)  # what is queued gets its chance
            mails = f"; e-mails: {notifier.sent} sent, {notifier.failed} failed"
    _say("Stopped: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + mails + ".")
    return 0


_say_lock = threading.Lock()


def _say(line: str) -> None:
    """One whole line on stdout, at once. The service's threads print concurrently (the saving
    loop its "saved:" lines, the e-mail thread "e-mail sent"), and `print` writes the text and
    its newline in two calls: two lines were seen glued together in a log."""
    with _say_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _announce(args: argparse.Namespace, store: Any, rx: StorageReceiver | None, inbox: Path,
              folders: list[Path], archive: Path | None) -> None:
    """Print what the service does, and start the warm-up of the rules' protocols."""
    from imgqa.service.warmup import warm_up_in_background

    rules = store.rules()
    # the first series would otherwise wait for the analysis kernels' imports
    warm_up_in_background(r.protocol for r in rules)
    if rx is not None:
        where = "this computer only" if args.host in _LOOPBACK else args.host
        _say(f"Serving: AE title {args.ae_title} on {where}, port {rx.port}; images go "
             f"to {inbox}. Who may send: {rx.policy.describe()}.")
    for d in folders:
        _say(f"Watching {d} every {args.poll:g} s.")
    if archive is not None:
        _say(f"Images of saved sessions are kept in {archive}.")
    _say(f"{len(rules)} routing rule(s) in force"
         + ("" if rules else ": every series will wait (add one with `imgqa rule add`)")
         + ". Stop with Ctrl-C or SIGTERM.")


def _loop(qc: "AutomaticQC", stop: StopFlag, folders: list[Path], poll: float,
          store: Any, notifier: "Notifier | None") -> None:
    """Until `stop`: look at the watched folders every `poll` seconds, hand complete series
    to the handler as they become due, check what is overdue (with a notifier)."""
    from imgqa.service.watcher import DirectoryWatcher

    watchers = [DirectoryWatcher(d) for d in folders]
    next_look = next_due_check = 0.0
    while not stop.wait(_pause(qc)):
        if notifier is not None and time.monotonic() >= next_due_check:
            next_due_check = time.monotonic() + _OVERDUE_CHECK_S
            _check_overdue(store, notifier)
        if watchers and time.monotonic() >= next_look:
            next_look = time.monotonic() + poll
            for d, w in zip(folders, watchers):
                try:
                    qc.on_files(w.poll())
                except OSError as exc:
                    print(f"imgqa serve: cannot read {d}: {exc}", file=sys.stderr)
        qc.run_due()


def _notifier() -> Notifier | None:
    """The e-mail notifier when notifications are on and usable, else None (said why)."""
    from imgqa.errors import NotificationError
    from imgqa.service.notify import Notifier
    from imgqa.service.notify_settings import load_settings, settings_path, settings_problems

    try:
        settings = load_settings()
    except NotificationError as exc:
        print(f"Warning: {exc.message} No e-mail will be sent.", file=sys.stderr, flush=True)
        return None
    if not settings.enabled:
        return None
    problems = settings_problems(settings)
    if problems:
        print(f"Warning: e-mail notifications are on but cannot be sent ({'; '.join(problems)}"
              f"); fix {settings_path()} or File → Settings… → Notifications.",
              file=sys.stderr, flush=True)
        return None
    _say(f"E-mail notifications: sessions at {settings.level} or worse"
         + (" and overdue tests" if settings.overdue else "")
         + f" to {', '.join(settings.to)} through {settings.host}:{settings.port}.")
    return Notifier(settings, report=_say)


def _check_overdue(store: Any, notifier: Notifier) -> None:
    """Queue the overdue digest; a database hiccup is printed, the service goes on."""
    from imgqa.errors import ImgqaError

    try:
        n = notifier.overdue(store.due_list())
    except ImgqaError as exc:
        print(f"imgqa serve: cannot read the due list: {exc.message}", file=sys.stderr,
              flush=True)
        return
    if n:
        _say(f"overdue: {n} test(s) overdue beyond grace; e-mailing the list.")


def _recover(inbox: Path, qc: "AutomaticQC", days: float) -> None:
    """Re-collect what a stop left unanalysed in the inbox (`imgqa.service.recovery`)."""
    from imgqa.service.recovery import recover_inbox

    if not days > 0:
        return
    n_images, n_series = recover_inbox(inbox, qc, days * 86400.0)
    if n_images:
        _say(f"Re-collected {n_images} image(s) of {n_series} series from the inbox that were "
             "received but not analysed before the last stop; they are analysed once quiet.")


def _pause(qc: "AutomaticQC", longest: float = 0.2) -> float:
    """How long the loop sleeps: until the next series completes, at most `longest` seconds
    (signals, watchers) and at least 10 ms (an arrival resets the quiet period anyway)."""
    due = qc.collector.next_due_in()
    return longest if due is None else min(longest, max(0.01, due))
