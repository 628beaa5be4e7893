"""The sender kinds, listed explicitly: receiver ``type`` -> builder of its sender."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from monitord.notify.base import Sender, SenderEnv
from monitord.notify.config import EmailReceiver, ReceiverConfig, WebhookReceiver
from monitord.notify.email import EmailSender
from monitord.notify.webhook import WebhookSender


def _email(receiver: ReceiverConfig, env: SenderEnv) -> Sender:
    if not isinstance(receiver, EmailReceiver) or env.smtp is None:
        raise ValueError(f"receiver {receiver.name}: an email receiver needs [smtp]")
    return EmailSender(receiver, env.smtp, env)


def _webhook(receiver: ReceiverConfig, env: SenderEnv) -> Sender:
    if not isinstance(receiver, WebhookReceiver):
        raise ValueError(f"receiver {receiver.name}: not a webhook receiver")
    return WebhookSender(receiver, env)


SENDER_KINDS: Mapping[str, Callable[[ReceiverConfig, SenderEnv], Sender]] = {
    "email": _email,
    "webhook": _webhook,
}


def build_sender(receiver: ReceiverConfig, env: SenderEnv) -> Sender:
    return SENDER_KINDS[receiver.type](receiver, env)


def build_senders(receivers: tuple[ReceiverConfig, ...], env: SenderEnv) -> dict[str, Sender]:
    """One sender per configured receiver, by receiver name."""
    return {r.name: build_sender(r, env) for r in receivers}
