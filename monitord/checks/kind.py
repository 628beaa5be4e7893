"""What a check kind declares: a spec parser and a check constructor (no I/O library).

Spec modules import only this, so reading a config loads neither asyncio's machinery nor any
network library; :mod:`monitord.checks.base` adds the shared run-time resources.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from monitord.checks.base import CheckEnv
    from monitord.config.reader import Table
    from monitord.config.schema import CheckConfig, CheckSpec
    from monitord.model import Outcome


class Check(Protocol):
    """One configured check, ready to run. It may keep state between runs (counters)."""

    async def run(self) -> Outcome:
        """Probe once. The caller enforces the deadline; cancellation must be honoured."""
        ...


@runtime_checkable
class CheckKind(Protocol):
    @property
    def name(self) -> str: ...  # read-only, so a frozen dataclass such as Kind conforms

    def parse(self, table: Table) -> CheckSpec:
        """Read this kind's keys; record errors on ``table``, never raise."""
        ...

    def build(self, config: CheckConfig, env: CheckEnv) -> Check: ...


@dataclass(frozen=True, slots=True)
class Kind:
    """The usual way to declare a kind: a spec parser and a check constructor."""

    name: str
    parse_spec: Callable[[Table], CheckSpec]
    make: Callable[[CheckConfig, CheckEnv], Check]

    def parse(self, table: Table) -> CheckSpec:
        return self.parse_spec(table)

    def build(self, config: CheckConfig, env: CheckEnv) -> Check:
        return self.make(config, env)


def deferred(module: str, name: str) -> Callable[[CheckConfig, CheckEnv], Check]:
    """A check constructor imported on first use: ``module.name(config, env)``.

    A kind's spec module (its keys and their parsing) stays light; the module that runs the
    check, with its network libraries, is imported only when a check of the kind is built.
    """

    def make(config: CheckConfig, env: CheckEnv) -> Check:
        factory: Callable[[CheckConfig, CheckEnv], Check] = getattr(
            importlib.import_module(module), name)
        return factory(config, env)

    return make
