"""Email delivery against a real aiosmtpd server on loopback (STARTTLS, AUTH, private CA)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from monitord.config.reader import SecretRef
from monitord.model import EventKind
from monitord.notify import email_message
from monitord.notify.base import SenderEnv, Verdict
from monitord.notify.config import EmailReceiver, SmtpSection
from monitord.notify.email import EmailSender
from monitord.testing import FakeClock
from tests.support.alerts import T0, event, notification
from tests.support.certs import Authority
from tests.support.outboxes import running_outbox, wait_rows
from tests.support.smtpd import SmtpServer

OPS = EmailReceiver(name="ops-mail", to=("ops@example.net", "bob@example.net"),
                    cc=("lead@example.net",))


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path)


@pytest.fixture
async def smtpd(ca: Authority) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(tls="starttls", tls_context=ca.server_context("127.0.0.1"),
                        users={"monitord": "s3cret"})
    await server.start()
    yield server
    await server.stop()


def smtp_section(tmp_path: Path, server: SmtpServer, ca: Authority, **options: object
                 ) -> SmtpSection:
    password = tmp_path / "smtp.password"
    password.write_text("s3cret\n")
    settings: dict[str, object] = {
        "host": server.host, "port": server.port, "tls": server.tls, "username": "monitord",
        "password": SecretRef(file=str(password)), "sender": "monitord <monitord@example.net>",
        "ca_file": str(ca.ca_file), "timeout": 5.0, "helo": "probe.example.net", **options,
    }
    return SmtpSection(**settings)  # type: ignore[arg-type]


def mail_sender(smtp: SmtpSection, receiver: EmailReceiver = OPS) -> EmailSender:
    return EmailSender(receiver, smtp, SenderEnv(clock=FakeClock(T0), smtp=smtp,
                                                 external_url="https://m.example"))


async def test_content_headers_and_threading(tmp_path: Path, smtpd: SmtpServer,
                                             ca: Authority) -> None:
    clock = FakeClock(T0)
    sender = mail_sender(smtp_section(tmp_path, smtpd, ca))
    problem = notification("ops-mail", event("shop-fr", diagnosis="upstream <10.0.0.5> refused"),
                           event("shop-de", summary="TLS handshake failed"), nid="p1")
    recovery = notification("ops-mail", event("shop-fr", EventKind.RECOVERY,
                                              summary="HTTP 200 OK"), nid="r1")
    async with running_outbox(tmp_path, {"ops-mail": sender}, clock) as (outbox, store):
        await outbox.submit([problem])
        await wait_rows(store, lambda r: r[0].state == "delivered")
        await outbox.submit([recovery])
        await wait_rows(store, lambda r: [x.state for x in r] == ["delivered"] * 2)
    first, second = smtpd.messages
    assert first.tls
    assert first.login == "monitord"
    assert first.mail_from == "monitord@example.net"
    assert first.rcpt_tos == ["ops@example.net", "bob@example.net", "lead@example.net"]
    msg = first.message
    assert msg["Subject"] == "[monitord] FIRING: 2 incidents: shop-fr, shop-de"
    assert msg["From"] == "monitord <monitord@example.net>"
    assert msg["To"] == "ops@example.net, bob@example.net"
    assert msg["Cc"] == "lead@example.net"
    assert msg["Message-ID"] == "<monitord.p1.ops-mail@example.net>"
    assert msg["In-Reply-To"] is None
    assert msg["X-Monitord-Incidents"] == "inc-shop-fr, inc-shop-de"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    plain = text.get_content()
    assert "== FIRING shop-fr: CRITICAL" in plain
    assert "== FIRING shop-de: CRITICAL" in plain
    assert "upstream <10.0.0.5> refused" in plain
    assert "TLS handshake failed" in plain
    markup = html.get_content()
    assert "upstream &lt;10.0.0.5&gt; refused" in markup
    assert "shop-de" in markup
    reply = second.message
    assert reply["Subject"] == "[monitord] RESOLVED: shop-fr OK - HTTP 200 OK"
    assert reply["Message-ID"] == "<monitord.r1.ops-mail@example.net>"
    assert reply["In-Reply-To"] == msg["Message-ID"]
    assert reply["References"] == msg["Message-ID"]


async def test_partly_refused_recipient_is_reported_not_retried(
        tmp_path: Path, smtpd: SmtpServer, ca: Authority) -> None:
    clock = FakeClock(T0)
    smtpd.refuse["bob@example.net"] = "550 5.1.1 no such user"
    sender = mail_sender(smtp_section(tmp_path, smtpd, ca))
    with capture_logs() as logs:
        async with running_outbox(tmp_path, {"ops-mail": sender}, clock) as (outbox, store):
            await outbox.submit([notification("ops-mail", nid="n1")])
            (row,) = await wait_rows(store, lambda r: r[0].state == "delivered")
            await clock.advance(3600)
    assert row.attempts == 1
    assert [m.rcpt_tos for m in smtpd.messages] == [["ops@example.net", "lead@example.net"]]
    partial = [e for e in logs if e["event"] == "notification delivered partially"]
    assert len(partial) == 1
    assert partial[0]["reason"] == (
        "recipients refused (bob@example.net: 550 5.1.1 no such user)")


async def test_temporarily_refused_recipient_gets_it_later(
        tmp_path: Path, smtpd: SmtpServer, ca: Authority) -> None:
    clock = FakeClock(T0)
    smtpd.refuse["bob@example.net"] = "452 4.2.2 mailbox full"
    sender = mail_sender(smtp_section(tmp_path, smtpd, ca))
    async with running_outbox(tmp_path, {"ops-mail": sender}, clock) as (outbox, store):
        await outbox.submit([notification("ops-mail", nid="n1")])
        (row,) = await wait_rows(store, lambda r: r[0].parts is not None)
        assert row.parts == '["bob@example.net"]'
        smtpd.refuse.clear()
        await clock.advance(700)
        await wait_rows(store, lambda r: r[0].state == "delivered")
    assert [m.rcpt_tos for m in smtpd.messages] == [
        ["ops@example.net", "lead@example.net"], ["bob@example.net"]]
    ids = {m.message["Message-ID"] for m in smtpd.messages}
    assert ids == {"<monitord.n1.ops-mail@example.net>"}


async def test_server_down_then_back_delivered_once(tmp_path: Path, ca: Authority) -> None:
    clock = FakeClock(T0)
    server = SmtpServer(tls="starttls", tls_context=ca.server_context("127.0.0.1"),
                        users={"monitord": "s3cret"})
    sender = mail_sender(smtp_section(tmp_path, server, ca))
    async with running_outbox(tmp_path, {"ops-mail": sender}, clock) as (outbox, store):
        await outbox.submit([notification("ops-mail", nid="n1")])
        (row,) = await wait_rows(store, lambda r: r[0].last_error != "")
        assert row.state == "pending"
        assert "SMTPConnectError" in row.last_error
        await server.start()
        try:
            await clock.advance(700)
            (row,) = await wait_rows(store, lambda r: r[0].state == "delivered")
        finally:
            await server.stop()
    assert row.attempts == 2
    assert len(server.messages) == 1


async def test_wrong_password_is_retried(tmp_path: Path, smtpd: SmtpServer,
                                         ca: Authority) -> None:
    # A password rotated on one side only must not give every email up at once: the outbox
    # keeps retrying within max_delivery_age and raises the receiver alert meanwhile.
    smtp = smtp_section(tmp_path, smtpd, ca)
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    result = await mail_sender(smtp_section(
        tmp_path, smtpd, ca, password=SecretRef(file=str(wrong)))).send(notification("x"))
    assert result.verdict is Verdict.RETRYABLE
    assert result.reason.startswith("SMTP 535")
    assert smtp.password is not None
    assert smtpd.messages == []


async def test_untrusted_certificate_is_retryable(tmp_path: Path, smtpd: SmtpServer,
                                                  ca: Authority) -> None:
    result = await mail_sender(smtp_section(tmp_path, smtpd, ca, ca_file=None)).send(
        notification("x"))
    assert result.verdict is Verdict.RETRYABLE
    assert "certificate verify failed" in result.reason


async def test_implicit_tls(tmp_path: Path, ca: Authority) -> None:
    server = SmtpServer(tls="implicit", tls_context=ca.server_context("127.0.0.1"),
                        users={"monitord": "s3cret"})
    await server.start()
    try:
        result = await mail_sender(smtp_section(tmp_path, server, ca)).send(notification("x"))
    finally:
        await server.stop()
    assert result.ok, result.reason
    assert server.messages[0].tls


async def test_send_resolved_false_skips_recoveries(tmp_path: Path, smtpd: SmtpServer,
                                                    ca: Authority) -> None:
    quiet = EmailReceiver(name="ops-mail", to=("ops@example.net",), send_resolved=False)
    sender = mail_sender(smtp_section(tmp_path, smtpd, ca), quiet)
    skipped = await sender.send(notification("ops-mail", event(kind=EventKind.RECOVERY)))
    mixed = await sender.send(notification("ops-mail", event("a"),
                                           event("b", EventKind.RECOVERY)))
    assert skipped.ok
    assert skipped.reason == "skipped: send_resolved = false"
    assert mixed.ok
    assert [m.message["X-Monitord-Incidents"] for m in smtpd.messages] == ["inc-a"]


@pytest.mark.parametrize(("nid", "expected"), [
    ("n1", "<monitord.n1.ops@example.net>"),
    ("grp-42.x", "<monitord.grp-42.x.ops@example.net>"),
    ("a b<c>", "<monitord.{}@example.net>"),
])
def test_message_id_is_stable_and_safe(nid: str, expected: str) -> None:
    got = email_message.message_id(nid, "ops", "example.net")
    assert got == email_message.message_id(nid, "ops", "example.net")
    if "{}" in expected:
        local = got[len("<monitord."):-len("@example.net>")]
        assert len(local) == 40
        assert all(c in "0123456789abcdef" for c in local)
    else:
        assert got == expected


def test_subject_prefix_and_test_marker() -> None:
    prefixed = EmailReceiver(name="ops", to=("o@example.net",), subject_prefix="[PROD]")
    subject = email_message.subject(
        notification("ops", event(kind=EventKind.TEST, summary="test\nnotification")), prefixed)
    assert subject == "[PROD] [monitord] FIRING: [TEST] shop-fr CRITICAL - test notification"
