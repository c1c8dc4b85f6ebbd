"""E-mail notification settings (issue 12), readable without Qt: ``notify.toml`` in the data folder.

The CLI (``imgqa serve``, ``imgqa due --notify``, ``imgqa notify``) and the GUI (File →
Settings… → Notifications) read and write the same file, so a headless service and the desktop
application agree. ``$IMGQA_NOTIFY_SETTINGS`` points at another file (a service account's
settings kept with its unit file). The format::

    [notify]
    enabled = true
    level = "ACTION"          # e-mail sessions whose worst status is at least this
    overdue = true            # e-mail the overdue tests, at most once a day per test

    [smtp]
    host = "smtp.example.org"
    port = 587
    starttls = true           # or: ssl = true with port 465 (TLS from the first byte)
    ca_file = ""              # a PEM file of the department's CA, when the server's
                              # certificate is signed by it (the system's CAs are trusted too)
    from = "imgqa@example.org"
    to = ["physics@example.org"]
    user = ""                 # empty: no login
    password_env = "IMGQA_SMTP_PASSWORD"
    password_file = ""        # or: a file holding only the password (readable by the service)
    timeout_s = 10

The password is never written here (nor logged): it comes from the environment variable named
by ``password_env`` or from the file named by ``password_file``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from imgqa.errors import NotificationError
from imgqa.io.atomic_write import write_atomically
from imgqa.paths import data_dir
from imgqa.status import Status

__all__ = ["LEVELS", "NotifySettings", "load_settings", "password", "save_settings",
           "settings_path", "settings_problems"]

# Which worst statuses can trigger an e-mail (imgqa.status ranking): TOLERANCE also mails the
# sessions outside a tolerance limit; ACTION (the default) only those past an action limit.
LEVELS: tuple[str, ...] = (Status.TOLERANCE.value, Status.ACTION.value)
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """What the ``[notify]`` and ``[smtp]`` tables of ``notify.toml`` say.

    Attributes
    ----------
    enabled : bool
        Send e-mails at all (default False: nothing is sent until someone sets it up).
    level : {"TOLERANCE", "ACTION"}
        The lowest worst status of a saved session that is e-mailed.
    overdue : bool
        E-mail the overdue tests (``imgqa serve``'s daily check, ``imgqa due --notify``).
    host, port : str, int
        The SMTP server (port 25, 587 for submission with STARTTLS).
    starttls : bool
        Upgrade the connection with STARTTLS before logging in (RFC 3207; port 587).
    ssl : bool
        TLS from the first byte (RFC 8314 implicit TLS; port 465). Not with ``starttls``.
    ca_file : str
        A PEM file of certificate authorities to trust besides the system's, e.g. a hospital's
        own CA that signed its mail relay's certificate. The certificate and the host name are
        always checked.
    sender : str
        The From address (``from`` in the file).
    to : tuple of str
        Recipients.
    user : str
        SMTP login; empty for none.
    password_env, password_file : str
        Where the password is read from (environment variable name, or a file's path).
    timeout_s : float
        Seconds to wait for the server before giving up (the session is saved anyway).
    """

    enabled: bool = False
    level: str = Status.ACTION.value
    overdue: bool = True
    host: str = ""
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    ca_file: str = ""
    sender: str = ""
    to: tuple[str, ...] = field(default_factory=tuple)
    user: str = ""
    password_env: str = "IMGQA_SMTP_PASSWORD"
    password_file: str = ""
    timeout_s: float = 10.0

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data, keyed as in the file (``from``, not ``sender``); no
        password: it is never held here."""
        return {("from" if f.name == "sender" else f.name):
                (list(getattr(self, f.name)) if f.name == "to" else getattr(self, f.name))
                for f in fields(self)}


_NOTIFY_KEYS = {"enabled": "enabled", "level": "level", "overdue": "overdue"}
_SMTP_KEYS = {"host": "host", "port": "port", "starttls": "starttls", "ssl": "ssl",
              "ca_file": "ca_file", "from": "sender",
              "to": "to", "user": "user", "password_env": "password_env",
              "password_file": "password_file", "timeout_s": "timeout_s"}


def settings_path() -> Path:
    """``$IMGQA_NOTIFY_SETTINGS``, else ``notify.toml`` in the data folder (`imgqa.paths`)."""
    env = os.environ.get("IMGQA_NOTIFY_SETTINGS")
    return Path(env).expanduser() if env else data_dir() / "notify.toml"


def _bad(path: Path, what: str) -> NotificationError:
    return NotificationError(f"The notification settings in {path} cannot be used: {what}.",
                             hint="Correct the file (its format is in docs/automatic-qc.md, "
                                  "\"Notifications\") or set it again in File → Settings… → "
                                  "Notifications.", path=path)


def load_settings(path: Path | str | None = None) -> NotifySettings:
    """Read the settings; a missing file gives the defaults (notifications off).

    Raises
    ------
    NotificationError
        The file is not TOML or a value has the wrong type (the message names it).
    """
    p = Path(path) if path is not None else settings_path()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return NotifySettings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(p, str(exc)) from exc
    values: dict[str, Any] = {}
    for table, keys in (("notify", _NOTIFY_KEYS), ("smtp", _SMTP_KEYS)):
        section = raw.get(table, {})
        if not isinstance(section, dict):
            raise _bad(p, f"[{table}] must be a table")
        for key, value in section.items():
            if key not in keys:
                raise _bad(p, f"unknown setting {table}.{key}")
            values[keys[key]] = value
    return _typed(values, p)


def _typed(values: dict[str, Any], p: Path) -> NotifySettings:
    default = NotifySettings()
    out: dict[str, Any] = {}
    for name, value in values.items():
        want = type(getattr(default, name))
        if name == "to":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
                raise _bad(p, "smtp.to must be a list of e-mail addresses")
            out[name] = tuple(a.strip() for a in items if a.strip())
        elif want is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
        elif type(value) is not want:  # bool is not int here: port = true is a mistake
            raise _bad(p, f"{name} must be a {want.__name__}, not {value!r}")
        else:
            out[name] = value.strip() if isinstance(value, str) else value
    if "level" in out:
        out["level"] = str(out["level"]).upper()
    return replace(default, **out)


def _toml_value(value: Any) -> str:
    # JSON's string escapes are valid TOML basic-string escapes; lists of strings likewise.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json.dumps(str(v), ensure_ascii=False) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def save_settings(settings: NotifySettings, path: Path | str | None = None) -> Path:
    """Write the settings (atomically: a reader never sees half a file); returns the path."""
    p = Path(path) if path is not None else settings_path()
    lines = ["# imgqa e-mail notifications (docs/automatic-qc.md, \"Notifications\").",
             "# The SMTP password is never stored here: see password_env / password_file.",
             "", "[notify]"]
    lines += [f"{key} = {_toml_value(getattr(settings, attr))}"
              for key, attr in _NOTIFY_KEYS.items()]
    lines += ["", "[smtp]"]
    lines += [f"{key} = {_toml_value(getattr(settings, attr))}"
              for key, attr in _SMTP_KEYS.items()]
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(p, ("\n".join(lines) + "\n").encode("utf-8"), prefix=".notify-")


def settings_problems(s: NotifySettings) -> list[str]:
    """Why these settings cannot send e-mail (empty: they can, or they are switched off)."""
    if not s.enabled:
        return []
    out = []
    if s.level not in LEVELS:
        out.append(f"the level must be one of {', '.join(LEVELS)}, not {s.level!r}")
    if not s.host:
        out.append("no SMTP server (host) is set")
    if not 1 <= s.port <= 65535:
        out.append(f"the SMTP port {s.port} is not between 1 and 65535")
    if s.ssl and s.starttls:
        out.append("choose one of SSL (port 465) and STARTTLS (port 587), not both")
    if s.ca_file and not Path(s.ca_file).expanduser().is_file():
        out.append(f"the CA certificate file {s.ca_file!r} does not exist")
    if not _ADDRESS.match(s.sender):
        out.append(f"the sender address {s.sender!r} is not an e-mail address")
    if not s.to:
        out.append("no recipient (to) is set")
    out += [f"the recipient {a!r} is not an e-mail address" for a in s.to
            if not _ADDRESS.match(a)]
    if s.timeout_s <= 0:
        out.append("the timeout must be positive")
    return out


def password(s: NotifySettings) -> str | None:
    """The SMTP password from ``password_file`` or ``$password_env``; None without a login.

    Raises
    ------
    NotificationError
        A login is set and neither source gives a password (the message names both, never
        a password).
    """
    if not s.user:
        return None
    if s.password_file:
        try:
            # a file written by an editor ends with a newline that is not part of the password
            return Path(s.password_file).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise NotificationError(
                f"The SMTP password file {s.password_file} cannot be read: "
                f"{exc.strerror or exc}.",
                hint="Make it readable by the account running imgqa.") from exc
    value = os.environ.get(s.password_env) if s.password_env else None
    if value is None:
        raise NotificationError(
            f"The SMTP login {s.user!r} needs a password and none is given.",
            hint=f"Set the environment variable {s.password_env or 'IMGQA_SMTP_PASSWORD'} for "
                 "the account running imgqa, or name a file holding it (smtp.password_file).")
    return value
