"""``imgqa receive``: listen for images sent by scanners and file them into the inbox.

Listens on this computer only (127.0.0.1) unless ``--host`` opens it to the network; the
association limit and the timeouts that drop idle connections are flags (defaults in
`imgqa.io.receiver`). Who may send: ``--allow-ae AE`` (repeatable; ``ANY`` for every title) and
``--allow-host ADDR`` (repeatable, an address or a network); without ``--allow-ae`` only programs
on this computer are accepted (`imgqa.io.ae_policy`, docs/security.md). With ``--analyse`` each
series is analysed once no new image of it has arrived for ``--quiet`` seconds (one line per
series, `imgqa.service`); SIGTERM or Ctrl-C stop it after analysing the series already received.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from types import FrameType

from imgqa.cli._common import StopFlag
from imgqa.io.ae_policy import parse_ae_title, parse_host
from imgqa.io.receiver import (
    DEFAULT_ACSE_TIMEOUT_S,
    DEFAULT_DIMSE_TIMEOUT_S,
    DEFAULT_HOST,
    DEFAULT_MAX_ASSOCIATIONS,
    DEFAULT_NETWORK_TIMEOUT_S,
    StorageReceiver,
)
from imgqa.paths import inbox_dir

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least 1")
    return value


def _quiet(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds >= 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 1-65535 (0 picks a free one)")
    return value


def _ae_title(text: str) -> str:
    if text.strip().upper() == "ANY":
        return "ANY"
    try:
        return parse_ae_title(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _host(text: str) -> str:
    try:
        parse_host(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """``--allow-ae`` and ``--allow-host`` (shared with ``imgqa serve`` when it comes)."""
    p.add_argument("--allow-ae", action="append", type=_ae_title, default=None, metavar="AE",
                   help="calling AE title allowed to send (repeat for each scanner; ANY allows "
                        "every title). Without it only programs on this computer may send")
    p.add_argument("--allow-host", action="append", type=_host, default=None, metavar="ADDR",
                   help="address or network (10.1.2.0/24) allowed to connect, in addition to "
                        "the AE title (repeatable)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("receive", help="receive images from scanners (DICOM C-STORE) "
                                       "into the inbox folder")
    p.add_argument("--port", type=_port, default=11112, help="TCP port (default 11112)")
    p.add_argument("--ae-title", type=_ae_title, default="IMGQA",
                   help="our AE title (default IMGQA); scanners must address it exactly")
    p.add_argument("--inbox", default=None, help="folder to file images into "
                                                 "(default: the inbox in the user data folder)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this computer only; "
                        "0.0.0.0 for every network interface, so scanners can send)")
    p.add_argument("--max-associations", type=_count, default=DEFAULT_MAX_ASSOCIATIONS,
                   metavar="N", help="simultaneous associations accepted "
                                     f"(default {DEFAULT_MAX_ASSOCIATIONS})")
    p.add_argument("--acse-timeout", type=_seconds, default=DEFAULT_ACSE_TIMEOUT_S,
                   metavar="S", help="seconds a connection may take to ask for an association "
                                     "before it is dropped (default "
                                     f"{DEFAULT_ACSE_TIMEOUT_S:g})")
    p.add_argument("--dimse-timeout", type=_seconds, default=DEFAULT_DIMSE_TIMEOUT_S,
                   metavar="S", help="seconds to wait for a DIMSE message "
                                     f"(default {DEFAULT_DIMSE_TIMEOUT_S:g})")
    p.add_argument("--network-timeout", type=_seconds, default=DEFAULT_NETWORK_TIMEOUT_S,
                   metavar="S", help="seconds an association may stay silent before it is "
                                     f"aborted (default {DEFAULT_NETWORK_TIMEOUT_S:g})")
    add_policy_arguments(p)
    p.add_argument("--analyse", action="store_true",
                   help="analyse each series once it is complete (test chosen from the "
                        "images) and print one line per series; not saved yet")
    p.add_argument("--quiet", type=_quiet, default=None, metavar="S",
                   help="with --analyse: a series is complete when no new image has arrived "
                        "for S seconds (default 10)")
    p.set_defaults(func=run)


def receiver_from_args(args: argparse.Namespace) -> StorageReceiver:
    """The (not yet started) receiver the parsed ``imgqa receive`` arguments describe."""
    return StorageReceiver(
        inbox=args.inbox or inbox_dir(), port=args.port, ae_title=args.ae_title, host=args.host,
        maximum_associations=args.max_associations, acse_timeout=args.acse_timeout,
        dimse_timeout=args.dimse_timeout, network_timeout=args.network_timeout,
        allowed_ae_titles=args.allow_ae, allowed_hosts=tuple(args.allow_host or ()),
        on_received=lambda r: print(f"received {r.modality} image → {r.path}", flush=True))


def run(args: argparse.Namespace) -> int:
    rx = receiver_from_args(args)
    qc = None
    if getattr(args, "analyse", False):
        from imgqa.cli._auto import SummaryPrinter
        from imgqa.service.completion import DEFAULT_QUIET_S
        from imgqa.service.pipeline import AutomaticQC

        printer = SummaryPrinter("table")
        qc = AutomaticQC(printer, quiet_s=DEFAULT_QUIET_S if args.quiet is None else args.quiet,
                         prepare=printer.prepare)
        show = rx.on_received

        def received(item):  # noqa: ANN001, ANN202 - ReceivedImage, from a network thread
            if show is not None:
                show(item)
            qc.on_received(item)

        rx.on_received = received
    try:
        rx.start()
    except OSError as exc:
        print(f"imgqa: cannot listen on {args.host or 'all interfaces'} port {args.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    with rx:
        where = "this computer only" if args.host in _LOOPBACK else (args.host or "all interfaces")
        print(f"Receiving as AE title {args.ae_title} on {where}, port {rx.port}; images go to "
              f"{rx.inbox}. Press Ctrl-C to stop.", flush=True)
        print(f"Who may send: {rx.policy.describe()}.", flush=True)
        if args.host in _LOOPBACK:
            print("Scanners on the network cannot reach this address: use --host 0.0.0.0 "
                  "(or this computer's address) to receive from them.", flush=True)
        elif args.allow_ae is None:
            print("No --allow-ae given: scanners on the network will be refused. Add "
                  "--allow-ae <the scanner's AE title> for each scanner (or --allow-ae ANY "
                  "to accept every sender while testing).", flush=True)
        elif rx.policy.accepts_any_ae and not args.allow_host:
            print("Warning: --allow-ae ANY accepts images from any computer that can reach "
                  "this port; name the scanners' AE titles (and --allow-host) for routine "
                  "use.", flush=True)
        stop = StopFlag()  # set by the signal handler: no lock (cli._common)

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            # With --analyse, look for complete series 5 times a second: the result follows
            # the quiet period by at most 0.2 s.
            while not stop.wait(0.2 if qc is not None else 1.0):
                if qc is not None:
                    qc.run_due()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    # Stopped listening: every acknowledged image of an incomplete series is analysed now.
    if qc is not None:
        qc.flush()
    print(f"Stopped; {len(rx.received)} image(s) received.", flush=True)
    return 0
