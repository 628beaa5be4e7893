"""Numeric OIDs of the standard MIB objects monitord reads (no MIB files are loaded)."""

from __future__ import annotations

# SNMPv2-MIB
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # TimeTicks, centiseconds since the agent (re)started
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"  # snmpTrapOID.0 in every v2c/v3 notification
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"  # snmpTrapAddress.0 (v1 agent-addr, RFC 3584)

# SNMP-FRAMEWORK-MIB: counts agent restarts; with v3 it survives a sysUpTime wrap
SNMP_ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"

# IF-MIB ifTable columns (index = ifIndex)
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_IN_DISCARDS = "1.3.6.1.2.1.2.2.1.13"
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"
IF_OUT_DISCARDS = "1.3.6.1.2.1.2.2.1.19"
IF_OUT_ERRORS = "1.3.6.1.2.1.2.2.1.20"

# IF-MIB ifXTable columns
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"  # Mbit/s
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
IF_COUNTER_DISCONTINUITY = "1.3.6.1.2.1.31.1.1.1.19"

# Generic traps (SNMPv2-MIB / IF-MIB snmpTrapOID values)
COLD_START = "1.3.6.1.6.3.1.1.5.1"
WARM_START = "1.3.6.1.6.3.1.1.5.2"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
AUTHENTICATION_FAILURE = "1.3.6.1.6.3.1.1.5.5"

IF_OPER_NAMES = {
    1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
    7: "lowerLayerDown",
}
ADMIN_UP = 1
ADMIN_DOWN = 2
OPER_UP = 1

TIMETICKS_WRAP = 2**32  # sysUpTime wraps after 2^32 centiseconds, about 497.1 days
COUNTER32_WRAP = 2**32


def is_numeric_oid(text: str) -> bool:
    """``"1.3.6.1.2.1.1.3.0"`` (a leading dot is tolerated by :func:`normalize_oid`)."""
    parts = text.split(".")
    return len(parts) >= 2 and all(p.isdigit() and (p == "0" or not p.startswith("0"))
                                   for p in parts)


def normalize_oid(text: str) -> str:
    """The OID without a leading dot; raises ValueError when it is not numeric."""
    oid = text.strip()
    oid = oid[1:] if oid.startswith(".") else oid
    if not is_numeric_oid(oid):
        raise ValueError(f'expected a numeric OID like "1.3.6.1.2.1.1.3.0", got "{text}"')
    return oid
