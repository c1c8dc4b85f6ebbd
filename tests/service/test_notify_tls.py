"""E-mail over TLS (issue 12): STARTTLS (port 587 style) and SSL from the first byte (port 465
style) against a throwaway aiosmtpd server on loopback whose certificate is signed by a
throwaway "hospital" certificate authority (made with the ``openssl`` command). The message
arrives when that authority is given as the CA file; without it, the send fails with a reason
a technologist can act on, and nothing is delivered."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from imgqa.cli.main import main
from imgqa.errors import NotificationError
from imgqa.service.notify import Mail, send_mail
from imgqa.service.notify_settings import (
    NotifySettings,
    load_settings,
    save_settings,
    settings_problems,
)

pytest.importorskip("aiosmtpd.controller")  # the test extra
if shutil.which("openssl") is None:  # pragma: no cover - Debian and the CI image have it
    pytest.skip("the openssl command makes the test certificates", allow_module_level=True)

MAIL = Mail(subject="[imgqa] TLS check", body="sent over TLS\n")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, and a server certificate for 127.0.0.1 signed by it."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Test Hospital CA", "-keyout", "ca.key", "-out", "ca.pem",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=d)
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n"
                               "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem",
             cwd=d)
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


def _server_context(pki) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki["cert"], pki["key"])
    return ctx


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request, pki, smtp_server):
    """(mode, inbox, port): an SMTP server that requires STARTTLS, or speaks TLS at once."""
    ctx = _server_context(pki)
    if request.param == "starttls":
        inbox, port = smtp_server(tls_context=ctx, require_starttls=True)
    else:
        inbox, port = smtp_server(ssl_context=ctx)
    return request.param, inbox, port


def _settings(mode: str, port: int, **kw) -> NotifySettings:
    return NotifySettings(enabled=True, host="127.0.0.1", port=port, starttls=mode == "starttls",
                          ssl=mode == "ssl", sender="imgqa@qc.example.org",
                          to=("physics@qc.example.org",), timeout_s=5.0, **kw)


def test_mail_arrives_encrypted_when_the_hospital_ca_is_given(tls_server, pki):
    mode, inbox, port = tls_server
    send_mail(_settings(mode, port, ca_file=str(pki["ca"])), MAIL)
    assert inbox.subjects == [MAIL.subject] and inbox.tls == [True]


def test_an_untrusted_certificate_is_refused_with_what_to_do(tls_server):
    mode, inbox, port = tls_server
    with pytest.raises(NotificationError) as err:
        send_mail(_settings(mode, port), MAIL)
    assert "is not trusted" in str(err.value) and "CA file" in str(err.value)
    assert inbox.subjects == []


def test_ssl_to_a_plain_server_fails_clearly(smtp_server):
    inbox, port = smtp_server()
    with pytest.raises(NotificationError, match="TLS connection .* failed"):
        send_mail(_settings("ssl", port), MAIL)
    assert inbox.subjects == []


def test_settings_refuse_both_modes_and_a_missing_ca_file(tmp_path):
    assert settings_problems(_settings("ssl", 465)) == []
    bad = NotifySettings(enabled=True, host="h", port=465, ssl=True, starttls=True,
                         ca_file=str(tmp_path / "nope.pem"), sender="a@b.c", to=("d@e.f",))
    problems = " ".join(settings_problems(bad))
    assert "not both" in problems and "does not exist" in problems


def test_cli_sets_ssl_and_the_ca_file_and_they_survive_a_reload(tmp_path, monkeypatch, pki,
                                                                capsys):
    monkeypatch.setenv("IMGQA_NOTIFY_SETTINGS", str(tmp_path / "notify.toml"))
    save_settings(NotifySettings(enabled=True, host="smtp.example.org", port=587,
                                 starttls=True, sender="a@example.org", to=("b@example.org",)))
    assert main(["notify", "set", "--port", "465", "--ssl", "--no-starttls",
                 "--ca-file", str(pki["ca"])]) == 0
    s = load_settings()
    assert (s.port, s.ssl, s.starttls, s.ca_file) == (465, True, False, str(pki["ca"]))
    capsys.readouterr()
    assert main(["notify", "set", "--starttls"]) == 2  # with --ssl still on: refused
    assert "not both" in capsys.readouterr().err
    assert load_settings().ssl is True
