"""``imgqa notify show|set|test``: the e-mail notification settings, headless.

The settings file (``notify.toml`` in the data folder, or ``$IMGQA_NOTIFY_SETTINGS``) is the one
the GUI's Settings → Notifications edits and ``imgqa serve`` / ``imgqa due --notify`` read
(`imgqa.service.notify_settings`). ``test`` sends a test message now and exits 1 when it
cannot (the reason on stderr); ``show`` never prints the SMTP password, only where it is read
from and whether it is there.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from imgqa.cli._common import print_json, table
from imgqa.errors import NotificationError, UsageError
from imgqa.service.notify import NotifyState, compose_test, send_mail
from imgqa.service.notify_settings import (
    LEVELS,
    NotifySettings,
    load_settings,
    save_settings,
    settings_path,
    settings_problems,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notify", help="e-mail notification settings: show, set, send a test",
                       description="E-mail notifications of failing automatic sessions and "
                       "overdue tests (`imgqa serve`, `imgqa due --notify`). The settings are "
                       f"in {settings_path()} (also edited in the GUI: File → Settings… → "
                       "Notifications).")
    acts = p.add_subparsers(dest="notify_action", metavar="ACTION", required=True)
    show = acts.add_parser("show", help="the settings, the password's source and the last "
                                        "e-mail sent or failed")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.set_defaults(func=run_show)
    test = acts.add_parser("test", help="send a test message now (exit 1 if it fails)")
    test.add_argument("--to", action="append", default=None, metavar="ADDRESS",
                      help="send to this address instead of the configured recipients "
                           "(repeatable)")
    test.set_defaults(func=run_test)
    st = acts.add_parser("set", help="change settings (the others stay as they are)")
    st.add_argument("--enabled", action=argparse.BooleanOptionalAction, default=None,
                    help="send e-mails at all")
    st.add_argument("--level", type=str.upper, choices=LEVELS, default=None,
                    help="the worst status of a session that is mailed (default ACTION)")
    st.add_argument("--overdue", action=argparse.BooleanOptionalAction, default=None,
                    help="mail the overdue tests (at most once a day each)")
    st.add_argument("--host", default=None, help="SMTP server")
    st.add_argument("--port", type=int, default=None, help="SMTP port (25, 587...)")
    st.add_argument("--starttls", action=argparse.BooleanOptionalAction, default=None,
                    help="upgrade to TLS with STARTTLS (usual on port 587)")
    st.add_argument("--ssl", action=argparse.BooleanOptionalAction, default=None,
                    help="TLS from the start (usual on port 465)")
    st.add_argument("--ca-file", default=None, metavar="PEM",
                    help="certificate of the authority that signed the server's certificate, "
                         "when it is the department's own ('' for none)")
    st.add_argument("--from", dest="sender", default=None, metavar="ADDRESS")
    st.add_argument("--to", action="append", default=None, metavar="ADDRESS",
                    help="recipient (repeatable; replaces the list)")
    st.add_argument("--user", default=None, help="SMTP login ('' for none)")
    st.add_argument("--password-env", default=None, metavar="NAME",
                    help="environment variable holding the password "
                         "(default IMGQA_SMTP_PASSWORD)")
    st.add_argument("--password-file", default=None, metavar="PATH",
                    help="file holding only the password ('' for none)")
    st.add_argument("--timeout", dest="timeout_s", type=float, default=None, metavar="S")
    st.set_defaults(func=run_set)


def _password_source(s: NotifySettings) -> str:
    if not s.user:
        return "no login"
    if s.password_file:
        ok = Path(s.password_file).expanduser().is_file()
        return f"file {s.password_file} ({'present' if ok else 'MISSING'})"
    ok = bool(s.password_env) and s.password_env in os.environ
    return f"environment variable {s.password_env} ({'set' if ok else 'NOT SET here'})"


def run_show(args: argparse.Namespace) -> int:
    s = load_settings()
    last = NotifyState().read().get("last")
    problems = settings_problems(s)
    if args.format == "json":
        print_json({"path": str(settings_path()), "settings": s.as_dict(),
                    "password": _password_source(s), "problems": problems, "last": last})
        return 0
    rows: list[list[Any]] = [[k, ", ".join(v) if isinstance(v, list) else v]
                             for k, v in s.as_dict().items()
                             if k not in ("password_env", "password_file")]
    rows.append(["password", _password_source(s)])
    print(f"Notification settings ({settings_path()}):")
    print(table(rows, ["Setting", "Value"]))
    if not s.enabled:
        print("E-mail notifications are off (`imgqa notify set --enabled ...`).")
    for p in problems:
        print(f"Problem: {p}.")
    if isinstance(last, dict):
        state = "sent" if last.get("ok") else f"NOT sent: {last.get('error')}"
        print(f"Last e-mail ({last.get('at')}): {last.get('subject')!r} {state}")
    return 0


def run_set(args: argparse.Namespace) -> int:
    s = load_settings()
    change = {k: getattr(args, k) for k in ("enabled", "level", "overdue", "host", "port",
                                            "starttls", "ssl", "ca_file", "sender", "user", "password_env",
                                            "password_file", "timeout_s")
              if getattr(args, k) is not None}
    if args.to is not None:
        change["to"] = tuple(a.strip() for a in args.to if a.strip())
    if not change:
        raise UsageError("Nothing to change.", hint="See `imgqa notify set --help`.")
    new = replace(s, **change)
    problems = settings_problems(new)
    if problems:
        raise UsageError("These notification settings cannot send e-mail: "
                         + "; ".join(problems) + ".", hint="Nothing was changed.")
    print(f"Saved {save_settings(new)}.")
    return 0


def run_test(args: argparse.Namespace) -> int:
    s = load_settings()
    if args.to:
        s = replace(s, to=tuple(args.to))
    try:
        send_mail(s, compose_test(s))
    except NotificationError as exc:
        print(f"imgqa notify test: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return 1
    print(f"Test message sent to {', '.join(s.to)} through {s.host}:{s.port}.")
    return 0
