"""What every sender implements, and what it tells the outbox about a delivery.

Senders do I/O and classify failures; they never sleep or retry. The outbox is the one
stage that owns backoff (see :mod:`monitord.notify.outbox`).
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from monitord.clock import Clock, SystemClock
from monitord.config.reader import ConfigError, ConfigInvalid
from monitord.model import Notification
from monitord.notify.config import SmtpSection


class Verdict(str, enum.Enum):
    OK = "ok"
    RETRYABLE = "retryable"  # the same request may succeed later: keep it and back off
    PERMANENT = "permanent"  # retrying cannot help: give up now and say why


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one delivery attempt.

    ``remaining`` names the parts (email recipients, PagerDuty dedup keys) that a retry must
    still deliver when others were accepted; empty means "everything again".
    ``reason`` on an OK result reports a partial delivery (recipients refused for good).
    """

    verdict: Verdict
    reason: str = ""
    retry_after: float | None = None  # seconds the receiver asked us to wait
    remaining: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    @classmethod
    def delivered(cls, reason: str = "") -> DeliveryResult:
        return cls(Verdict.OK, reason)

    @classmethod
    def retry(cls, reason: str, *, retry_after: float | None = None,
              remaining: tuple[str, ...] = ()) -> DeliveryResult:
        return cls(Verdict.RETRYABLE, reason, retry_after, remaining)

    @classmethod
    def give_up(cls, reason: str) -> DeliveryResult:
        return cls(Verdict.PERMANENT, reason)


@dataclass(frozen=True, slots=True)
class SendContext:
    """What the outbox knows about a notification beyond its content."""

    # Parts still to deliver after an earlier partial attempt; None means all of them.
    parts: tuple[str, ...] | None = None
    # incident id -> id of the first notification that announced it to this receiver
    # (email threads recoveries under that message).
    threads: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    attempt: int = 1


NO_CONTEXT = SendContext()


class Sender(Protocol):
    """Delivers notifications to one receiver."""

    name: str

    async def send(self, notification: Notification,
                   context: SendContext = NO_CONTEXT) -> DeliveryResult:
        """One attempt, bounded by the receiver's timeout; never raises for delivery errors."""
        ...

    async def close(self) -> None:
        """Release connections; the sender is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class SenderEnv:
    """What senders share: the clock, the [smtp] section, the daemon's public URL."""

    clock: Clock = field(default_factory=SystemClock)
    smtp: SmtpSection | None = None
    external_url: str = ""


def tls_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """Client TLS: the system's CAs (or ``ca_file``), hostname checked unless ``verify`` is off."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except OSError as exc:  # a missing file, or ssl.SSLError for one that is not PEM
        reason = exc.strerror or str(exc)
        # A config problem (exit 2 at start, the old world kept on reload), named as such.
        raise ConfigInvalid([ConfigError(str(ca_file), "", f"ca_file: cannot use it as CA "
                                                            f"certificates: {reason}")]) from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
