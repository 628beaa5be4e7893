"""Evidence for ``http``, ``tcp`` and ``tls`` checks: the name, every address, TLS, HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from monitord.checks._options import is_ip
from monitord.checks.base import CheckEnv
from monitord.checks.http import HttpSpec
from monitord.checks.tcp import TcpSpec
from monitord.checks.tls import TlsSpec
from monitord.config.schema import CheckConfig
from monitord.evidence.base import Step
from monitord.evidence.names import name_steps, resolvers_of
from monitord.evidence.net import AddressBook, connect_step, http_step, tls_step


def _network(env: CheckEnv, host: str, port: int, budget: float) -> tuple[AddressBook,
                                                                           list[Step]]:
    book = AddressBook(env, host, port, max(0.2, budget * 0.4))
    steps = [] if is_ip(host) else name_steps(host, resolvers_of(env.resolvers), budget)
    return book, [*steps, connect_step(book, max(0.2, budget * 0.5))]


@dataclass(frozen=True, slots=True)
class HttpEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        spec = config.spec
        assert isinstance(spec, HttpSpec)
        url = URL(spec.url)
        https = url.scheme == "https"
        port = url.port or (443 if https else 80)
        book, steps = _network(env, url.host or "", port, budget)
        if https:
            steps.append(tls_step(book, url.host or "", spec.tls.verify, spec.tls.ca_file,
                                  max(0.2, budget * 0.5)))
        body = spec.body.encode() if spec.body is not None else None
        steps.append(http_step(env, spec.url, spec.method, dict(spec.headers), body,
                               spec.tls.verify, spec.tls.ca_file))
        return steps


@dataclass(frozen=True, slots=True)
class TcpEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        spec = config.spec
        assert isinstance(spec, TcpSpec)
        book, steps = _network(env, spec.host, spec.port, budget)
        if spec.tls:
            steps.append(tls_step(book, spec.server_name or spec.host, spec.tls_options.verify,
                                  spec.tls_options.ca_file, max(0.2, budget * 0.5)))
        return steps


@dataclass(frozen=True, slots=True)
class TlsEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        spec = config.spec
        assert isinstance(spec, TlsSpec)
        book, steps = _network(env, spec.host, spec.port, budget)
        steps.append(tls_step(book, spec.server_name or spec.host, spec.tls.verify,
                              spec.tls.ca_file, max(0.2, budget * 0.5)))
        return steps
