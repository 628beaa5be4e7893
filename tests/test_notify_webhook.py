"""Webhook delivery through the outbox to a real aiohttp receiver on loopback."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from monitord.config.reader import SecretRef
from monitord.model import EventKind
from monitord.notify.base import SenderEnv
from monitord.notify.config import WebhookReceiver
from monitord.notify.webhook import WebhookSender, parse_retry_after
from monitord.testing import FakeClock
from tests.support.alerts import T0, event, notification
from tests.support.certs import Authority
from tests.support.hooks import HookReceiver
from tests.support.outboxes import running_outbox, wait_rows
from tests.support.web import serve


def hook_sender(url: str, clock: FakeClock, **options: object) -> WebhookSender:
    receiver = WebhookReceiver(name="hook", url=url, **options)  # type: ignore[arg-type]
    return WebhookSender(receiver, SenderEnv(clock=clock, external_url="https://m.example"))


def secret_file(tmp_path: Path, name: str, value: str) -> SecretRef:
    path = tmp_path / name
    path.write_text(value + "\n")
    return SecretRef(file=str(path))


async def test_fails_then_succeeds_delivered_once(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[503, 502, 500])
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock) as (outbox, store):
            await outbox.submit([notification("hook", nid="n1")])
            for attempt in (1, 2, 3):
                await wait_rows(store, lambda r, a=attempt: r[0].attempts == a
                                and r[0].next_attempt_at > clock.now().timestamp())
                assert hook.accepted == {}
                await clock.advance(700)
            (row,) = await wait_rows(store, lambda r: r[0].state == "delivered")
            stats = (await outbox.stats())["hook"]
    assert row.attempts == 4
    assert hook.accepted == {"n1": 1}
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["n1"] * 4
    assert (stats.sent, stats.retried, stats.failed, stats.pending) == (1, 3, 0, 0)


async def test_400_is_given_up_and_logged(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[400], response_body=b'{"error": "bad field"}' + b" " * 100000)
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock, max_body=1024)
        with capture_logs() as logs:
            async with running_outbox(tmp_path, {"hook": sender}, clock) as (outbox, store):
                await outbox.submit([notification("hook", nid="n1")])
                (row,) = await wait_rows(store, lambda r: r[0].state == "failed")
                await clock.advance(3600)
                stats = (await outbox.stats())["hook"]
    assert row.attempts == 1
    assert len(hook.requests) == 1
    assert row.last_error == 'HTTP 400: {"error": "bad field"}'
    given_up = [e for e in logs if e["event"] == "notification_given_up"]
    assert given_up == [{"event": "notification_given_up", "log_level": "error",
                         "receiver": "hook", "notification": "n1",
                         "reason": 'HTTP 400: {"error": "bad field"}', "attempt": 1}]
    assert (stats.sent, stats.failed) == (0, 1)


async def test_retry_after_is_honoured(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[429], response_headers={"Retry-After": "300"})
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock) as (outbox, store):
            await outbox.submit([notification("hook", nid="n1")])
            (row,) = await wait_rows(store, lambda r: r[0].last_error.startswith("HTTP 429"))
            assert row.next_attempt_at - clock.now().timestamp() == pytest.approx(300, abs=1)
            await clock.advance(200)
            assert len(hook.requests) == 1
            await clock.advance(101)
            await wait_rows(store, lambda r: r[0].state == "delivered")
    assert hook.accepted == {"n1": 1}


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0),
    ("0", 0.0),
    ("999999", 3600.0),
    ("Mon, 05 Jan 2026 09:02:00 GMT", 120.0),
    ("Mon, 05 Jan 2026 08:00:00 GMT", 0.0),
    ("soon", None),
    (None, None),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, T0) == expected


async def test_hmac_signature_verified_by_receiver(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(secret="s3cret")
    async with serve(hook.app()) as base:
        good = hook_sender(f"{base}/hook", clock, secret=secret_file(tmp_path, "k", "s3cret"))
        bad = hook_sender(f"{base}/hook", clock, secret=secret_file(tmp_path, "w", "wrong"))
        ok = await good.send(notification("hook", nid="n1"))
        refused = await bad.send(notification("hook", nid="n2"))
        await good.close()
        await bad.close()
    assert ok.ok
    assert refused.verdict.value == "permanent"
    assert refused.reason == "HTTP 401"
    first = hook.requests[0]
    assert first.headers["X-Monitord-Timestamp"] == str(int(T0.timestamp()))
    assert first.headers["X-Monitord-Signature"].startswith("sha256=")
    assert hook.verify(first.headers, first.body)
    assert not hook.verify({**first.headers, "X-Monitord-Timestamp": "1"}, first.body)


async def test_headers_and_auth(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver()
    async with serve(hook.app()) as base:
        bearer = hook_sender(f"{base}/hook", clock, headers={"X-Team": "ops"},
                             bearer_token=secret_file(tmp_path, "t", "tok-123"))
        basic = hook_sender(f"{base}/hook", clock, username="monitord",
                            password=secret_file(tmp_path, "p", "pa:ss"))
        assert (await bearer.send(notification("hook", nid="n1"))).ok
        assert (await basic.send(notification("hook", nid="n2"))).ok
        await bearer.close()
        await basic.close()
    first, second = hook.requests
    assert first.headers["Authorization"] == "Bearer tok-123"
    assert first.headers["X-Team"] == "ops"
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["User-Agent"].startswith("monitord/")
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(
        b"monitord:pa:ss").decode()


async def test_missing_secret_is_retryable(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    sender = hook_sender("http://127.0.0.1:9/hook", clock,
                         bearer_token=SecretRef(file=str(tmp_path / "absent")))
    result = await sender.send(notification("hook"))
    assert result.verdict.value == "retryable"
    assert "cannot read a secret of receiver hook" in result.reason


@pytest.mark.parametrize("fmt", ["json", "alertmanager"])
async def test_formats_over_the_wire(tmp_path: Path, fmt: str) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver()
    note = notification("hook", event("shop-fr", diagnosis="upstream refused"),
                        event("shop-de", EventKind.RECOVERY))
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock, format=fmt)
        assert (await sender.send(note)).ok
        await sender.close()
    body = hook.requests[0].json
    if fmt == "json":
        assert (body["version"], body["status"], body["receiver"]) == ("1", "firing", "hook")
        assert [(i["id"], i["state"], i["diagnosis"]) for i in body["incidents"]] == [
            ("inc-shop-fr", "firing", "upstream refused"), ("inc-shop-de", "resolved", "")]
    else:
        assert (body["version"], body["status"], body["receiver"]) == ("4", "firing", "hook")
        assert [(a["labels"]["check"], a["status"]) for a in body["alerts"]] == [
            ("shop-fr", "firing"), ("shop-de", "resolved")]
        assert body["externalURL"] == "https://m.example"


async def test_pagerduty_event_per_incident_and_partial_retry(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(fail_keys={"inc-shop-de": 503})
    note = notification("hook", event("shop-fr"), event("shop-de", EventKind.RECOVERY),
                        event("shop-nl", EventKind.ACKNOWLEDGED), nid="n7")
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock, format="pagerduty",
                             routing_key=secret_file(tmp_path, "rk", "R0UT1NG"))
        async with running_outbox(tmp_path, {"hook": sender}, clock) as (outbox, store):
            await outbox.submit([note])
            (row,) = await wait_rows(store, lambda r: r[0].last_error == "HTTP 503")
            assert row.parts == '["inc-shop-de", "inc-shop-nl"]'
            hook.fail_keys.clear()
            await clock.advance(700)
            await wait_rows(store, lambda r: r[0].state == "delivered")
    sent = [(r.headers["Idempotency-Key"], r.json["event_action"]) for r in hook.requests]
    assert sent == [("n7:inc-shop-fr", "trigger"), ("n7:inc-shop-de", "resolve"),
                    ("n7:inc-shop-de", "resolve"), ("n7:inc-shop-nl", "acknowledge")]
    assert all(r.json["routing_key"] == "R0UT1NG" for r in hook.requests)
    assert hook.accepted == {"n7:inc-shop-fr": 1, "n7:inc-shop-de": 1, "n7:inc-shop-nl": 1}


async def test_tls_verification(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ca = Authority.create(tmp_path)
    hook = HookReceiver()
    async with serve(hook.app(), ssl_context=ca.server_context("127.0.0.1")) as base:
        trusted = hook_sender(f"{base}/hook", clock, ca_file=str(ca.ca_file))
        untrusted = hook_sender(f"{base}/hook", clock)
        assert (await trusted.send(notification("hook", nid="n1"))).ok
        refused = await untrusted.send(notification("hook", nid="n2"))
        await trusted.close()
        await untrusted.close()
    assert refused.verdict.value == "retryable"
    assert "certificate verify failed" in refused.reason
    assert len(hook.requests) == 1


async def test_connection_refused_is_retryable(unused_port: int) -> None:
    sender = hook_sender(f"http://127.0.0.1:{unused_port}/hook", FakeClock(T0))
    result = await sender.send(notification("hook"))
    await sender.close()
    assert result.verdict.value == "retryable"
    assert "ClientConnectorError" in result.reason

