"""A real SMTP server (aiosmtpd) on loopback, in the test's own event loop.

    server = SmtpServer(tls="starttls", tls_context=ca.server_context("127.0.0.1"),
                        users={"monitord": "s3cret"})
    await server.start()          # may be called again after stop(), on the same port
    ... server.messages: every accepted message, parsed ...
    server.refuse["bob@example.net"] = "550 5.1.1 no such user"
    await server.stop()

With ``users`` the server requires AUTH (over TLS only); with ``tls="starttls"`` it requires
STARTTLS before anything else; ``tls="implicit"`` wraps the listening socket in TLS.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    tls: bool


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        refusal = self.server.refuse.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login.decode() if session.auth_data else None
        self.server.messages.append(Received(
            str(envelope.mail_from), list(envelope.rcpt_tos), message, login,
            session.ssl is not None
            or (server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None)))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    tls: str = "starttls"  # starttls | implicit | none
    tls_context: ssl.SSLContext | None = None
    users: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    _server: asyncio.Server | None = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _protocol(self) -> SMTP:
        starttls = self.tls == "starttls"
        return SMTP(
            _Handler(self),
            hostname="mail.test",
            tls_context=self.tls_context if starttls else None,
            require_starttls=starttls,
            authenticator=self._authenticate if self.users else None,
            # aiosmtpd cannot tell that an implicit-TLS socket is encrypted: AUTH is then
            # offered without its own TLS requirement (the socket is TLS anyway).
            auth_required=bool(self.users) and starttls,
            auth_require_tls=starttls,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, self.host, self.port,
            ssl=self.tls_context if self.tls == "implicit" else None)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            if hasattr(self._server, "close_clients"):  # Python >= 3.13
                self._server.close_clients()
            await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
