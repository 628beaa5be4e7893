"""The ``snmp`` check kind.

Its keys are parsed by :mod:`monitord.snmp.spec` (no pysnmp); :meth:`Kind.build` imports the
poller (:mod:`monitord.snmp.check`, which imports pysnmp) the first time an SNMP check is
built, so a configuration without SNMP never loads pysnmp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitord.checks.kind import Check, CheckKind, Kind
from monitord.snmp.spec import parse

if TYPE_CHECKING:
    from monitord.checks.base import CheckEnv
    from monitord.config.schema import CheckConfig


def _build(config: CheckConfig, env: CheckEnv) -> Check:
    from monitord.snmp.check import SnmpCheck  # imports pysnmp: only when SNMP is used

    return SnmpCheck(config, env)


KIND: CheckKind = Kind("snmp", parse, _build)
