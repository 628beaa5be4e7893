"""The ``snmp`` check kind.

Its keys are parsed by :mod:`monitord.snmp.spec` (no pysnmp); :meth:`Kind.build` imports the
poller (:mod:`monitord.snmp.check`) the first time an SNMP check is built, and the poller
imports pysnmp only when it first polls with SNMPv3, so a configuration without SNMP (or with
SNMPv2c only) never loads pysnmp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitord.checks.kind import Check, CheckKind, Kind
from monitord.snmp.spec import parse

if TYPE_CHECKING:
    from monitord.checks.base import CheckEnv
    from monitord.config.schema import CheckConfig


def _build(config: CheckConfig, env: CheckEnv) -> Check:
    from monitord.snmp.check import SnmpCheck  # only when SNMP is used

    return SnmpCheck(config, env)


KIND: CheckKind = Kind("snmp", parse, _build)
