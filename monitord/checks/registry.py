"""The explicit registry of check kinds: type name -> the module that declares it.

Kinds are known BY NAME: a kind's module (and the libraries it needs: aiohttp, dnspython,
pysnmp…) is imported the first time the kind is used, then cached. So importing the registry,
or reading a config without checks of a kind, loads nothing of that kind, and the CLI starts
fast. Each module declares its kind as ``KIND: CheckKind``; it is a light *spec* module (the
kind's keys and their parsing, no network library) whose ``build`` imports the module that
runs the check (:func:`monitord.checks.base.deferred`). Validating a config therefore imports
no aiohttp, dnspython, aiodns, pysnmp or cryptography.

To add a kind, add one line to :data:`MODULES`, nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from monitord.checks.kind import CheckKind

MODULES: Mapping[str, str] = {
    "dns": "monitord.checks.dns_spec",
    "dns_authority": "monitord.checks.dns_authority_spec",
    "domain_expiry": "monitord.checks.domain_expiry_spec",
    "heartbeat": "monitord.heartbeat.spec",
    "http": "monitord.checks.http_spec",
    "icmp": "monitord.checks.icmp_spec",
    "nagios": "monitord.checks.nagios_spec",
    "snmp": "monitord.snmp.kind",
    "tcp": "monitord.checks.tcp_spec",
    "tls": "monitord.checks.tls_spec",
}


class UnknownKind(KeyError):
    """No check kind of that name is registered."""


def load_kind(module_name: str) -> CheckKind:
    """The ``KIND`` a module declares, checked against the :class:`CheckKind` protocol."""
    kind = getattr(importlib.import_module(module_name), "KIND", None)
    if not isinstance(kind, CheckKind):
        raise TypeError(f"{module_name}.KIND is not a check kind (got {kind!r})")
    return kind


class Registry(Mapping[str, CheckKind]):
    """Name -> kind, importing each kind's module on first lookup (a read-only mapping)."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, CheckKind] = {}

    def __getitem__(self, name: str) -> CheckKind:
        kind = self._loaded.get(name)
        if kind is None:
            if name not in self._modules:
                raise UnknownKind(name)
            kind = self._loaded[name] = load_kind(self._modules[name])
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)  # names only: iterating imports nothing

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def loaded(self) -> tuple[str, ...]:
        """The kinds whose modules are imported so far."""
        return tuple(self._loaded)


KINDS = Registry(MODULES)
