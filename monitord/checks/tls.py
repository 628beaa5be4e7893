"""The ``tls`` check: a handshake with SNI, certificate verification and expiry.

Verdicts, worst first: a certificate that fails verification is CRITICAL in phase
``certificate`` with the reason named (expired, not yet valid, wrong host, self-signed,
untrusted chain, revoked); one that expires within ``crit_before`` is CRITICAL, within
``warn_before`` WARNING, both in phase ``expiry``. Days left are counted from the injected
clock's ``now``. When verification fails, a second handshake without verification fetches
the certificate so the summary can still show its subject, issuer and expiry.
"""

from __future__ import annotations

import ssl
from dataclasses import replace
from datetime import datetime

from monitord.checks._facts import certificate_facts
from monitord.checks._net import close_stream, connect, open_stream
from monitord.checks._probe import CertificateRejected, Probe, ProbeFailure, probing, run_probe
from monitord.checks._tls import CertInfo, cert_info, shared_context
from monitord.checks.base import CheckEnv
from monitord.checks.tls_spec import (
    DAY,
    KIND,
    TlsSpec,
    parse,
)
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status


class TlsCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, TlsSpec)
        self.spec: TlsSpec = config.spec
        self.env = env
        self.timeout = config.timeout
        self._peer: dict[str, str] = {}  # the address of the last handshake

    @property
    def server_name(self) -> str:
        return self.spec.server_name or self.spec.host

    async def run(self) -> Outcome:
        return await run_probe(self.env.clock.monotonic, self.timeout, self._run)

    async def _run(self, probe: Probe) -> Outcome:
        now = self.env.clock.now()
        context = await shared_context(self.env, self.spec.tls.verify, self.spec.tls.ca_file)
        probe.begin()
        try:
            der = await self._certificate(probe, context)
        except CertificateRejected as rejected:
            return await self._rejected(probe, rejected, now)
        info = cert_info(der)
        days = info.days_left(now)
        outcome = self._expiry(info, now, probe.metrics(cert_days_left=round(days, 3)))
        return replace(outcome, facts={**self._peer, **certificate_facts(der)})

    async def _certificate(self, probe: Probe, context: ssl.SSLContext) -> bytes:
        """The server's certificate (DER), after a handshake with ``context``."""
        sock = await connect(self.env, probe, self.spec.host, self.spec.port)
        peer = sock.getpeername()
        self._peer = {"address": str(peer[0])}
        _, writer = await open_stream(sock, probe, context, self.server_name)
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        finally:
            await close_stream(writer)
        if not der:
            raise ProbeFailure(Phase.TLS, "the server sent no certificate")
        return bytes(der)

    async def _rejected(self, probe: Probe, rejected: CertificateRejected,
                        now: datetime) -> Outcome:
        """Verification failed: fetch the certificate unverified to say which one it was."""
        metrics = probe.metrics()
        summary = rejected.summary
        try:
            unverified = await shared_context(self.env, False, None)
            with probing(Probe(self.env.clock.monotonic)) as peek:
                info = cert_info(await self._certificate(peek, unverified))
        except (ProbeFailure, ValueError):  # gone, or unparsable: keep the verdict we have
            pass
        else:
            metrics["cert_days_left"] = round(info.days_left(now), 3)
            summary += f"; {info.describe()}"
        return Outcome(Status.CRITICAL, summary, Phase.CERTIFICATE, metrics)

    def _expiry(self, info: CertInfo, now: datetime, metrics: dict[str, float]) -> Outcome:
        spec = self.spec
        days = info.days_left(now)
        detail = info.describe()
        if now < info.not_before:
            return Outcome(Status.CRITICAL, f"certificate not valid before "
                           f"{info.not_before:%Y-%m-%dT%H:%M:%SZ}; {detail}", Phase.EXPIRY,
                           metrics)
        if days <= 0:
            return Outcome(Status.CRITICAL, f"certificate expired {-days:.1f} days ago; "
                           f"{detail}", Phase.EXPIRY, metrics)
        left = f"certificate expires in {days:.1f} days"
        if days * DAY < spec.crit_before:
            return Outcome(Status.CRITICAL, f"{left} (crit_before "
                           f"{format_duration(spec.crit_before)}); {detail}", Phase.EXPIRY,
                           metrics)
        if days * DAY < spec.warn_before:
            return Outcome(Status.WARNING, f"{left} (warn_before "
                           f"{format_duration(spec.warn_before)}); {detail}", Phase.EXPIRY,
                           metrics)
        return Outcome.ok(f"{left}; {detail}", metrics)


__all__ = ["DAY", "KIND", "TlsCheck", "TlsSpec", "parse"]
