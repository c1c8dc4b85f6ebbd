"""``imgqa receive``: listen for images sent by scanners and file them into the inbox.

Listens on this computer only (127.0.0.1) unless ``--host`` opens it to the network; the
association limit and the timeouts that drop idle connections are flags (defaults in
`imgqa.io.receiver`).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 1-65535 (0 picks a free one)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("receive", help="receive images from scanners (DICOM C-STORE) "
                                       "into the inbox folder")
    p.add_argument("--port", type=_port, default=11112, help="TCP port (default 11112)")
    p.add_argument("--ae-title", default="IMGQA", help="our AE title (default IMGQA)")
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
    p.set_defaults(func=run)


def receiver_from_args(args: argparse.Namespace) -> StorageReceiver:
    """The (not yet started) receiver the parsed ``imgqa receive`` arguments describe."""
    return StorageReceiver(
        inbox=args.inbox or inbox_dir(), port=args.port, ae_title=args.ae_title, host=args.host,
        maximum_associations=args.max_associations, acse_timeout=args.acse_timeout,
        dimse_timeout=args.dimse_timeout, network_timeout=args.network_timeout,
        on_received=lambda r: print(f"received {r.modality} image → {r.path}", flush=True))


def run(args: argparse.Namespace) -> int:
    rx = receiver_from_args(args)
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
        if args.host in _LOOPBACK:
            print("Scanners on the network cannot reach this address: use --host 0.0.0.0 "
                  "(or this computer's address) to receive from them.", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print(f"Stopped; {len(rx.received)} image(s) received.")
    return 0
