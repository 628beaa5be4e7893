"""The ``tcp`` check: connect (optionally over TLS), optionally send, optionally expect.

``expect`` is a regular expression searched in what the server sends (a banner, or the answer
to ``send``), read until it matches, the server closes, or ``max_read`` bytes have arrived —
never more. Without ``expect`` the check passes once connected (and ``send`` written).
"""

from __future__ import annotations

from monitord.checks._net import close_stream, connect, open_stream, os_reason
from monitord.checks._probe import Probe, ProbeFailure, run_probe
from monitord.checks._tls import shared_context
from monitord.checks.base import CheckEnv
from monitord.checks.tcp_spec import (
    CHUNK,
    KIND,
    MAX_READ,
    TcpSpec,
    parse,
)
from monitord.config.durations import format_elapsed
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase


class TcpCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, TcpSpec)
        self.spec: TcpSpec = config.spec
        self.env = env
        self.timeout = config.timeout
        self.payload = self.spec.send.encode() if self.spec.send is not None else None
        self._address = ""  # connected to in the current run (a fact for "what changed")

    async def run(self) -> Outcome:
        return await run_probe(self.env.clock.monotonic, self.timeout, self._run)

    async def _run(self, probe: Probe) -> Outcome:
        spec = self.spec
        context = None
        if spec.tls:
            context = await shared_context(self.env, spec.tls_options.verify,
                                           spec.tls_options.ca_file)
        probe.begin()
        sock = await connect(self.env, probe, spec.host, spec.port)
        self._address = str(sock.getpeername()[0])
        reader, writer = await open_stream(sock, probe, context, spec.server_name or spec.host)
        try:
            probe.enter(Phase.REQUEST)
            try:
                if self.payload is not None:
                    writer.write(self.payload)
                    await writer.drain()
                probe.enter(Phase.RESPONSE)
                if spec.expect is None:
                    return self._ok(probe, "", 0)
                data, ended = bytearray(), False
                while len(data) < spec.max_read:
                    chunk = await reader.read(min(CHUNK, spec.max_read - len(data)))
                    if probe.stage is Phase.RESPONSE:
                        probe.enter(Phase.CONTENT)  # the first byte (or the close) arrived
                    if not chunk:
                        ended = True
                        break
                    data += chunk
                    text = data.decode("utf-8", errors="replace")
                    match = spec.expect.search(text)
                    if match:
                        return self._ok(probe, f', "{_preview(match[0])}" matches expect',
                                        len(data))
                    probe.if_timeout = self._no_match(text, "before the deadline")
            except OSError as exc:
                raise ProbeFailure(probe.stage, f"connection lost: {os_reason(exc)}"
                                   ) from None
        finally:
            await close_stream(writer)
        why = "the server closed the connection" if ended else f"read limit {len(data)} bytes"
        failure = self._no_match(data.decode("utf-8", errors="replace"), f"({why})")
        return probe.failed(failure, bytes_read=len(data))

    def _no_match(self, text: str, why: str) -> ProbeFailure:
        assert self.spec.expect is not None
        return ProbeFailure(Phase.CONTENT, f'no match for expect "{self.spec.expect.pattern}" '
                                           f'{why}; got "{_preview(text)}"')

    def _ok(self, probe: Probe, matched: str, read: int) -> Outcome:
        metrics = probe.metrics(bytes_read=read)
        over = " over TLS" if self.spec.tls else ""
        took = format_elapsed(metrics["time_total_ms"] / 1000.0)
        return Outcome.ok(f"connected to {self.spec.host}:{self.spec.port}{over} in {took}"
                          f"{matched}", metrics, {"address": self._address})


def _preview(text: str, limit: int = 60) -> str:
    """A short, one-line, printable excerpt of what the server sent."""
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("…" if len(text) > limit else "")


__all__ = ["CHUNK", "KIND", "MAX_READ", "TcpCheck", "TcpSpec", "parse"]
