"""``imgqa session images SESSION``: where a saved session's images are in the image archive on
this workstation, and whether each file is still there with its recorded SHA-256.

The database stores each archived file's path relative to the archive root; the root is this
workstation's setting (``--archive DIR``, ``$IMGQA_ARCHIVE`` or the GUI's Settings), so a
session saved on one workstation is reopened on any other that mounts the same share, wherever
it is mounted (``imgqa analyse $(imgqa session images 12 --paths)``).
"""

from __future__ import annotations

import argparse
import sys

from imgqa.cli._common import print_json, table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("session", help="a saved session's archived images")
    ssub = p.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    s = ssub.add_parser("images", help="list a session's archived image files and check "
                                       "them (present, same SHA-256)")
    s.add_argument("session", metavar="SESSION_UID", help="session UID or id")
    s.add_argument("--archive", metavar="DIR", default=None,
                   help="image archive folder on this workstation (default $IMGQA_ARCHIVE "
                        "or the GUI setting)")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--format", choices=("table", "json"), default="table")
    out.add_argument("--paths", action="store_true",
                     help="print only the intact files' paths, one per line (to pass to "
                          "`imgqa analyse`)")
    s.set_defaults(func=run_images)


def run_images(args: argparse.Namespace) -> int:
    from imgqa.cli.archive_check import archive_root_from
    from imgqa.cli.db_cmd import open_from_args
    from imgqa.io.image_archive import check_files, require_root

    with open_from_args(args) as store:
        sess = store.find_session(args.session)
        files = store.session_files(sess.id)
    if not files:
        print(f"Session {sess.id} has no archived images (it was saved without an image "
              "archive folder).", file=sys.stderr)
        return 1
    root = require_root(archive_root_from(args.archive))
    checks = check_files(root, files)
    bad = [c for c in checks if c.state != "ok"]
    if args.paths:
        for c in checks:
            if c.state == "ok":
                print(c.location)
    elif args.format == "json":
        print_json({"session_id": sess.id, "session_uid": sess.uid,
                    "equipment": sess.equipment_name,
                    "performed_at": sess.performed_at.isoformat(), "archive": str(root),
                    "files": [{"path": c.file.path, "location": str(c.location or ""),
                               "state": c.state, "sha256": c.file.sha256,
                               "size": c.file.size, "detail": c.detail} for c in checks]})
    else:
        print(f"Session {sess.id} ({sess.equipment_name}, "
              f"{sess.performed_at:%Y-%m-%d %H:%M} UTC): {len(files)} file(s) in {root}")
        print(table([[c.state, c.file.size, c.location or c.file.path] for c in checks],
                    ["State", "Bytes", "File"]))
    if bad:
        print(f"{len(bad)} of {len(files)} file(s) missing or altered.", file=sys.stderr)
        return 1
    return 0
