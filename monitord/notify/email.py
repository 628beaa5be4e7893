"""Email receivers: one message per notification, over SMTP (aiosmtplib).

Error handling: every failure becomes a :class:`DeliveryResult`. Connection errors, timeouts,
TLS failures, SMTP 4xx replies and a refused login (535: a password rotated on one side only)
are retryable; other SMTP 5xx replies (sender or message rejected) are permanent. When the
server accepts some recipients and refuses others, the accepted ones have the message: a
retry goes only to the recipients refused with a 4xx reply, and those refused with a 5xx
reply are reported and not retried.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiosmtplib

from monitord.compat import timeout
from monitord.config.secrets import read_secret
from monitord.model import EventKind, Notification
from monitord.notify import email_message
from monitord.notify.base import (
    NO_CONTEXT,
    DeliveryResult,
    SendContext,
    SenderEnv,
    tls_context,
)
from monitord.notify.config import EmailReceiver, SmtpSection


class EmailSender:
    def __init__(self, receiver: EmailReceiver, smtp: SmtpSection, env: SenderEnv) -> None:
        self.name = receiver.name
        self.receiver = receiver
        self.smtp = smtp
        self.env = env
        self._tls = tls_context(smtp.ca_file, smtp.tls_verify) if smtp.tls != "none" else None

    async def send(self, notification: Notification,
                   context: SendContext = NO_CONTEXT) -> DeliveryResult:
        if not self.receiver.send_resolved:
            kept = tuple(e for e in notification.events if e.kind is not EventKind.RECOVERY)
            if not kept:
                return DeliveryResult.delivered("skipped: send_resolved = false")
            notification = replace(notification, events=kept)
        message = email_message.build(notification, self.receiver, self.smtp,
                                      threads=context.threads,
                                      external_url=self.env.external_url)
        everyone = (*self.receiver.to, *self.receiver.cc)
        recipients = list(context.parts) if context.parts is not None else list(everyone)
        try:
            password = await read_secret(self.smtp.password) if self.smtp.password else None
        except (OSError, KeyError) as exc:
            return DeliveryResult.retry(
                f"cannot read the SMTP password ({self.smtp.password.describe()}): {exc}"
                if self.smtp.password else str(exc))
        client = aiosmtplib.SMTP(
            hostname=self.smtp.host,
            port=self.smtp.port,
            use_tls=self.smtp.tls == "implicit",
            start_tls=self.smtp.tls == "starttls",
            tls_context=self._tls,
            validate_certs=self.smtp.tls_verify,
            timeout=self.smtp.timeout,
            local_hostname=self.smtp.helo,
        )
        try:
            async with timeout(self.smtp.timeout):
                await client.connect()
                if self.smtp.username is not None and password is not None:
                    await client.login(self.smtp.username, password)
                refused, _ = await client.send_message(
                    message, sender=self.smtp.sender_address, recipients=recipients)
                await client.quit()
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _refusals({r.recipient: (r.code, r.message) for r in exc.recipients},
                             accepted=False)
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.code} {exc.message}".strip()
            # A refused login is about the account, not the message: a password rotated on
            # one side only is fixed within the hour, so keep the mail until max_delivery_age
            # (the receiver alert tells the other receivers meanwhile).
            if 400 <= exc.code < 500 or isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                return DeliveryResult.retry(reason)
            return DeliveryResult.give_up(reason)
        except (TimeoutError, asyncio.TimeoutError):  # distinct classes on Python 3.10
            return DeliveryResult.retry(f"SMTP timeout after {self.smtp.timeout:g}s")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return DeliveryResult.retry(f"SMTP {type(exc).__name__}: {exc}")
        finally:
            client.close()
        if refused:
            return _refusals({a: (r.code, r.message) for a, r in refused.items()}, accepted=True)
        return DeliveryResult.delivered()

    async def close(self) -> None:
        return None  # one connection per message: nothing is kept open


def _refusals(refused: dict[str, tuple[int, str]], *, accepted: bool) -> DeliveryResult:
    """Classify refused recipients; ``accepted``: others took the message."""
    temporary = tuple(a for a, (code, _) in refused.items() if 400 <= code < 500)
    detail = "; ".join(f"{a}: {code} {text}".strip() for a, (code, text) in refused.items())
    reason = f"recipients refused ({detail})"
    if temporary:
        return DeliveryResult.retry(reason, remaining=temporary)
    return DeliveryResult.delivered(reason) if accepted else DeliveryResult.give_up(reason)

