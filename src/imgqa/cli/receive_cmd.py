"""``imgqa receive``: listen for images sent by scanners and file them into the inbox."""

from __future__ import annotations

import argparse
import time

from imgqa.paths import inbox_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("receive", help="receive images from scanners (DICOM C-STORE) "
                                       "into the inbox folder")
    p.add_argument("--port", type=int, default=11112, help="TCP port (default 11112)")
    p.add_argument("--ae-title", default="IMGQA", help="our AE title (default IMGQA)")
    p.add_argument("--inbox", default=None, help="folder to file images into "
                                                 "(default: the inbox in the user data folder)")
    p.add_argument("--host", default="", help="address to listen on (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgqa.io.receiver import StorageReceiver

    inbox = args.inbox or inbox_dir()
    rx = StorageReceiver(inbox=inbox, port=args.port, ae_title=args.ae_title, host=args.host,
                         on_received=lambda r: print(f"received {r.modality} image → {r.path}",
                                                     flush=True))
    with rx:
        print(f"Receiving as AE title {args.ae_title} on port {rx.port}; images go to {inbox}. "
              "Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print(f"Stopped; {len(rx.received)} image(s) received.")
    return 0
