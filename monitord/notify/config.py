"""``[smtp]`` and ``[[receiver]]``: typed, frozen receiver configuration.

Each receiver type has its own frozen dataclass and parser; :data:`RECEIVER_PARSERS` lists
them (the sender registry in :mod:`monitord.notify.registry` lists the matching builders).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from monitord.config.reader import SecretRef, Table, choice, to_str

RECEIVER_NAME = re.compile(r"[a-z0-9._-]+")
WEBHOOK_FORMATS = ("json", "alertmanager", "pagerduty")
SMTP_TLS = ("starttls", "implicit", "none")
_DEFAULT_SMTP_PORT = {"starttls": 587, "implicit": 465, "none": 25}
# Headers monitord sets itself: a configured value would silently break signing or idempotency.
RESERVED_HEADERS = frozenset({
    "content-type", "content-length", "host", "idempotency-key", "x-monitord-signature",
    "x-monitord-timestamp", "transfer-encoding",
})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True, slots=True)
class SmtpSection:
    host: str
    sender: str  # the `from` key: "monitord <monitord@example.net>"
    port: int = 587
    tls: str = "starttls"  # starttls | implicit | none
    username: str | None = None
    password: SecretRef | None = None
    timeout: float = 30.0
    ca_file: str | None = None
    tls_verify: bool = True
    helo: str | None = None

    @property
    def sender_address(self) -> str:
        return _parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        """The domain of the sender address (right-hand side of every Message-ID)."""
        return self.sender_address.rpartition("@")[2] or "monitord.invalid"


@dataclass(frozen=True, slots=True)
class EmailReceiver:
    type: ClassVar[str] = "email"
    name: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject_prefix: str = ""
    send_resolved: bool = True


@dataclass(frozen=True, slots=True)
class WebhookReceiver:
    type: ClassVar[str] = "webhook"
    name: str
    url: str
    format: str = "json"
    headers: Mapping[str, str] = field(default_factory=dict)
    bearer_token: SecretRef | None = None
    username: str | None = None
    password: SecretRef | None = None
    secret: SecretRef | None = None  # HMAC-SHA256 signing key
    routing_key: SecretRef | None = None  # pagerduty
    timeout: float = 10.0
    tls_verify: bool = True
    ca_file: str | None = None
    max_body: int = 65536  # bytes of a response read at most


ReceiverConfig = EmailReceiver | WebhookReceiver


def parse_smtp(table: Table | None) -> SmtpSection | None:
    if table is None:
        return None
    tls = table.choice("tls", SMTP_TLS, "starttls")
    sender = table.str("from")
    if sender and ("@" not in _parseaddr(sender)[1] or "\n" in sender):
        table.error("from", f'expected an address like "monitord <monitord@example.net>", '
                            f'got "{sender}"')
    username = table.optional("username", to_str)
    password = table.secret("password", required=username is not None)
    if password is not None and username is None:
        table.error("password_file", "a password needs a username")
    section = SmtpSection(
        host=table.str("host"),
        sender=sender,
        port=table.int("port", _DEFAULT_SMTP_PORT[tls], minimum=1, maximum=65535),
        tls=tls,
        username=username,
        password=password,
        timeout=table.duration("timeout", 30.0),
        ca_file=_ca_file(table),
        tls_verify=table.bool("tls_verify", True),
        helo=table.optional("helo", to_str),
    )
    if tls == "none" and section.username is not None:
        table.error("tls", 'AUTH would send the password in clear: use "starttls" or "implicit"')
    table.finish()
    return section


def parse_email(table: Table, name: str) -> EmailReceiver:
    to = _addresses(table, "to", required=True)
    receiver = EmailReceiver(
        name=name,
        to=to,
        cc=_addresses(table, "cc", required=False),
        subject_prefix=table.str("subject_prefix", ""),
        send_resolved=table.bool("send_resolved", True),
    )
    if "\n" in receiver.subject_prefix or "\r" in receiver.subject_prefix:
        table.error("subject_prefix", "expected a single line")
    return receiver


def parse_webhook(table: Table, name: str) -> WebhookReceiver:
    url = table.str("url")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            table.error("url", f'expected an http:// or https:// URL, got "{url}"')
    fmt = table.choice("format", WEBHOOK_FORMATS, "json")
    headers = table.str_map("headers")
    bearer = table.secret("bearer_token", required=False)
    username = table.optional("username", to_str)
    password = table.secret("password", required=username is not None)
    if password is not None and username is None:
        table.error("password_file", "a password needs a username (basic auth)")
    if bearer is not None and username is not None:
        table.error("bearer_token_file", "give bearer_token_* or username/password_*, not both")
    for header in headers:
        lower = header.lower()
        if not _HEADER_NAME.fullmatch(header):
            table.error("headers", f'"{header}" is not a valid header name')
        elif lower in RESERVED_HEADERS or (
            lower == "authorization" and (bearer is not None or username is not None)
        ):
            table.error("headers", f'"{header}" is set by monitord itself')
    for value in headers.values():
        if "\n" in value or "\r" in value:
            table.error("headers", "header values must be single lines")
    routing_key = table.secret("routing_key", required=fmt == "pagerduty")
    if routing_key is not None and fmt != "pagerduty":
        table.error("routing_key_file", 'only used with format = "pagerduty"')
    return WebhookReceiver(
        name=name,
        url=url,
        format=fmt,
        headers=headers,
        bearer_token=bearer,
        username=username,
        password=password,
        secret=table.secret("secret", required=False),
        routing_key=routing_key,
        timeout=table.duration("timeout", 10.0),
        tls_verify=table.bool("tls_verify", True),
        ca_file=_ca_file(table),
        max_body=table.int("max_body", 65536, minimum=1024, maximum=16 * 1024 * 1024),
    )


RECEIVER_PARSERS: Mapping[str, Callable[[Table, str], ReceiverConfig]] = {
    "email": parse_email,
    "webhook": parse_webhook,
}


def parse_receivers(root: Table, smtp: SmtpSection | None) -> tuple[ReceiverConfig, ...]:
    """Every ``[[receiver]]``; duplicates and email without ``[smtp]`` are errors."""
    receivers: list[ReceiverConfig] = []
    seen: dict[str, int] = {}
    for index, table in root.tables("receiver"):
        name = table.str("name")
        if name and not RECEIVER_NAME.fullmatch(name):
            table.error("name", f'expected a name made of a-z 0-9 . _ -, got "{name}"')
        elif name in seen:
            table.error("name", f"duplicate receiver name (first used by "
                                f"receiver[{seen[name] + 1}])")
        elif name:
            seen[name] = index
        kind = ""
        if table.has("type"):
            kind = table.get("type", choice(*RECEIVER_PARSERS), "")
        else:
            table.error("type", f"required ({' or '.join(RECEIVER_PARSERS)})")
        if kind == "email" and smtp is None:
            table.error("type", "an email receiver needs an [smtp] section")
        if kind not in RECEIVER_PARSERS:
            table.finish(extra_known=list(table.data))
            continue
        receiver = RECEIVER_PARSERS[kind](table, name)
        table.finish()
        receivers.append(receiver)
    return tuple(receivers)


def _addresses(table: Table, key: str, *, required: bool) -> tuple[str, ...]:
    if required and not table.has(key):
        table.error(key, "required")
    addresses = table.str_list(key)
    if required and table.has(key) and not addresses:
        table.error(key, "expected at least one address")
    for address in addresses:
        if "@" not in _parseaddr(address)[1] or any(c in address for c in "\r\n,"):
            table.error(key, f'expected addresses like "ops@example.net", got "{address}"')
    return addresses


def _parseaddr(text: str) -> tuple[str, str]:
    """``email.utils.parseaddr``, imported on use: it weighs more than reading the config."""
    from email.utils import parseaddr

    return parseaddr(text)


def _ca_file(table: Table) -> str | None:
    """``ca_file``, from the config file's directory when relative. Like a secret, it is read
    only where the daemon runs: when the sender is built (at start, or before a reload swaps
    anything), so ``check-config`` works on any machine."""
    return table.file_path("ca_file")
