"""monitord test-notify: a real TEST notification through one receiver; 0 delivered, 1 not."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from monitord.configfile import load_config
from monitord.notify import testsend
from tests.support.certs import Authority
from tests.support.hooks import HookReceiver
from tests.support.smtpd import SmtpServer
from tests.support.web import serve

REPO = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, url: str, smtp: SmtpServer | None = None,
                 ca: Authority | None = None) -> Path:
    text = f"""
[monitord]
location = "paris"
[alerting]
default_receivers = ["hook"]
[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"
"""
    if smtp is not None and ca is not None:
        (tmp_path / "smtp.password").write_text("s3cret\n")
        text += f"""
[smtp]
host = "{smtp.host}"
port = {smtp.port}
tls = "starttls"
username = "monitord"
password_file = "{tmp_path / 'smtp.password'}"
from = "monitord <monitord@example.net>"
ca_file = "{ca.ca_file}"
[[receiver]]
name = "ops-mail"
type = "email"
to = ["ops@example.net"]
"""
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


async def test_webhook_delivered(tmp_path: Path) -> None:
    hook = HookReceiver()
    async with serve(hook.app()) as base:
        config = load_config(write_config(tmp_path, f"{base}/hook"))
        status, text = await testsend.test_notify(config, "hook")
    assert (status, text) == (0, "delivered to hook (webhook)")
    body = hook.requests[0].json
    (incident,) = body["incidents"]
    assert (incident["event"], incident["state"], incident["check"]) == (
        "test", "test", "monitord-test")
    assert "no action is needed" in incident["summary"]
    assert "paris" in incident["summary"]


async def test_webhook_refused(tmp_path: Path) -> None:
    hook = HookReceiver(script=[400])
    async with serve(hook.app()) as base:
        config = load_config(write_config(tmp_path, f"{base}/hook"))
        status, text = await testsend.test_notify(config, "hook")
    assert (status, text) == (1, "not delivered to hook (permanent failure): HTTP 400")


async def test_unknown_receiver(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9/hook"))
    assert await testsend.test_notify(config, "nope") == (
        1, 'no receiver named "nope" (configured: hook)')


async def test_email_delivered(tmp_path: Path) -> None:
    ca = Authority.create(tmp_path)
    server = SmtpServer(tls="starttls", tls_context=ca.server_context("127.0.0.1"),
                        users={"monitord": "s3cret"})
    await server.start()
    try:
        config = load_config(write_config(tmp_path, "http://127.0.0.1:9/hook", server, ca))
        status, text = await testsend.test_notify(config, "ops-mail")
    finally:
        await server.stop()
    assert (status, text) == (0, "delivered to ops-mail (email)")
    subject = server.messages[0].message["Subject"]
    assert subject.startswith("[monitord] FIRING: [TEST] monitord-test OK - test notification")


async def test_command_line(tmp_path: Path) -> None:
    hook = HookReceiver(script=[200, 503])
    async with serve(hook.app()) as base:
        config = write_config(tmp_path, f"{base}/hook")
        outputs = []
        for _ in range(2):
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitord", "test-notify", "-c", str(config),
                "--receiver", "hook", cwd=REPO, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(child.communicate(), 30)
            outputs.append((child.returncode, out.decode(), err.decode()))
    assert outputs[0] == (0, "monitord test-notify: delivered to hook (webhook)\n", "")
    assert outputs[1] == (1, "", "monitord test-notify: not delivered to hook (retryable "
                                 "failure): HTTP 503\n")
