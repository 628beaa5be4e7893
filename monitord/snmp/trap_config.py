"""``[snmp_traps]``: where the trap receiver listens, whom it accepts, what traps mean.

Parsed without pysnmp (the receiver imports it when it starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitord.config.reader import SecretRef, Table
from monitord.config.schema import HostPort, parse_host_port
from monitord.model import Status
from monitord.snmp.spec import AUTH_PROTOCOLS, PRIV_PROTOCOLS, to_oid

_ENGINE_ID_HEX = set("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class TrapUser:
    """An SNMPv3 user allowed to send notifications.

    Informs work with the user alone (the receiver is the authoritative engine). Plain v3
    traps are authenticated with the *sender's* engine id, so each sending device's
    ``engine_ids`` entry is needed for them.
    """

    name: str
    auth_protocol: str = "SHA"
    auth_key: SecretRef | None = None
    priv_protocol: str = "AES"
    priv_key: SecretRef | None = None
    engine_ids: tuple[str, ...] = ()  # hex


@dataclass(frozen=True, slots=True)
class EnterpriseTrap:
    """A vendor trap worth a result (``oid`` is the snmpTrapOID value)."""

    oid: str
    name: str
    status: Status = Status.WARNING


@dataclass(frozen=True, slots=True)
class SnmpTrapsConfig:
    listen: HostPort = field(default_factory=lambda: HostPort("0.0.0.0", 162))
    communities: SecretRef | None = None  # one community a line (file) or comma-separated (env)
    users: tuple[TrapUser, ...] = ()
    traps: tuple[EnterpriseTrap, ...] = ()
    max_packet_size: int = 8192  # bytes; larger datagrams are dropped unparsed
    max_rate: int = 200  # datagrams per second accepted (a burst of as many is allowed)
    repoll_interval: float = 10.0  # at most one re-poll request per check in this time


def parse_snmp_traps(table: Table | None) -> SnmpTrapsConfig | None:
    """None when the section is absent: no receiver is started."""
    if table is None:
        return None
    base = SnmpTrapsConfig()
    listen = base.listen
    try:
        listen = parse_host_port(table.str("listen", "0.0.0.0:162"))
    except ValueError as exc:
        table.error("listen", str(exc))
    users = tuple(_user(sub) for _, sub in table.tables("user"))
    traps = tuple(_trap(sub) for _, sub in table.tables("trap", name_key="name"))
    config = SnmpTrapsConfig(
        listen=listen,
        communities=table.secret("communities", required=False),
        users=users,
        traps=traps,
        max_packet_size=table.int("max_packet_size", base.max_packet_size, minimum=484,
                                  maximum=65507),
        max_rate=table.int("max_rate", base.max_rate, minimum=1, maximum=100_000),
        repoll_interval=table.duration("repoll_interval", base.repoll_interval),
    )
    if config.communities is None and not users:
        table.error(None, "give communities_file (or communities_env) or a [[snmp_traps.user]]: "
                          "without them every trap is rejected")
    names = [u.name for u in users]
    for name in sorted({n for n in names if names.count(n) > 1}):
        table.error("user", f'user "{name}" is defined twice')
    table.finish()
    return config


def _user(table: Table) -> TrapUser:
    auth_key = table.secret("auth_key", required=False)
    priv_key = table.secret("priv_key", required=False)
    if priv_key is not None and auth_key is None:
        table.error("priv_key_file", "privacy needs authentication: set auth_key_file too")
    engine_ids = table.str_list("engine_ids")
    for engine_id in engine_ids:
        text = engine_id.removeprefix("0x")
        if not (10 <= len(text) <= 64 and len(text) % 2 == 0 and set(text) <= _ENGINE_ID_HEX):
            table.error("engine_ids", f'expected SNMP engine ids in hex like "80001f8880…", '
                                      f'got "{engine_id}"')
    user = TrapUser(
        name=table.str("name"),
        auth_protocol=table.choice("auth_protocol", AUTH_PROTOCOLS, "SHA"),
        auth_key=auth_key,
        priv_protocol=table.choice("priv_protocol", PRIV_PROTOCOLS, "AES"),
        priv_key=priv_key,
        engine_ids=tuple(e.removeprefix("0x").lower() for e in engine_ids),
    )
    table.finish()
    return user


def _trap(table: Table) -> EnterpriseTrap:
    status = table.choice("status", ("warning", "critical"), "warning")
    trap = EnterpriseTrap(
        oid=table.get("oid", to_oid, ""),
        name=table.str("name"),
        status=Status.CRITICAL if status == "critical" else Status.WARNING,
    )
    if not table.has("oid"):
        table.error("oid", "required")
    table.finish()
    return trap
