"""SNMP GET and table walks over any transport, every failure classified.

A session asks a :class:`Requester` for one PDU at a time: SNMPv2c polls go through our own
UDP client (:mod:`~monitord.snmp.v2c`), SNMPv3 polls through pysnmp
(:mod:`~monitord.snmp.engine`). Both hand back plain values, so the walk, the error
statuses and the explanation of a silent agent are written once, here.

Failures are named by phase: ``timeout`` (no answer at all), ``auth`` (the agent rejected
the credentials, or is alive but ignores them), ``content`` (the agent has no such object),
``response`` (any other error the agent returned), ``connect`` (the request could not be
sent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from monitord.checks._probe import ProbeFailure
from monitord.config.durations import format_duration
from monitord.config.reader import SecretRef
from monitord.config.secrets import read_secret
from monitord.model import Phase, Status
from monitord.snmp.values import Absent, Endpoint, Value

MAX_REPETITIONS = 25  # rows per GETBULK: 25 x a handful of columns fits one datagram
MAX_ROWS = 20_000  # per column: a hostile or broken agent cannot make a walk endless
MAX_REQUESTS = 2_000

Oid = tuple[int, ...]
_ACCESS_DENIED = {"noAccess", "authorizationError"}


@dataclass(frozen=True, slots=True)
class Reply:
    """What the agent answered: ``error`` is None or an RFC 3416 error-status name."""

    error: str | None
    error_index: int
    binds: list[tuple[Oid, Value]]


class NoAnswer(Exception):
    """Every attempt of a request went unanswered; ``note`` says what was heard instead."""

    def __init__(self, note: str = "") -> None:
        super().__init__(note)
        self.note = note


class Requester(Protocol):
    """One agent, one set of credentials. Raises :class:`NoAnswer` on silence, and
    :class:`ProbeFailure` for what it can name itself (credentials rejected, send failed)."""

    v2c: bool

    async def request(self, oids: Sequence[Oid], *, bulk: bool) -> Reply: ...

    async def agent_answers(self, wait: float) -> bool:
        """Whether the agent answers an SNMPv3 request from an unknown user (a Report)."""
        ...


async def read_secret_for(ref: SecretRef, what: str) -> str:
    try:
        return await read_secret(ref)
    except (OSError, KeyError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not set"
        raise ProbeFailure(Phase.INTERNAL, f"cannot read the SNMP {what} from "
                                           f"{ref.describe()}: {reason}", Status.UNKNOWN) from None


def oid_tuple(oid: str) -> Oid:
    return tuple(int(part) for part in oid.strip(".").split("."))


def dotted(oid: Oid) -> str:
    return ".".join(map(str, oid))


class SnmpSession:
    """Requests to one agent with one set of credentials, for one run of a check."""

    def __init__(self, requester: Requester, endpoint: Endpoint,
                 time_left: Callable[[], float]) -> None:
        self.requester = requester
        self.endpoint = endpoint
        self.time_left = time_left
        self.requests = 0

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """The values of ``oids`` (exception values included: the caller judges them)."""
        binds = await self._call([oid_tuple(oid) for oid in oids], bulk=False)
        return {dotted(name): value for name, value in binds}

    async def walk(self, columns: Sequence[str]) -> dict[str, dict[str, Value]]:
        """Every row of each table column, walked side by side with GETBULK.

        Columns of the same table (or of tables sharing an index, like ifTable and ifXTable)
        advance together, so a 48-port switch takes one or two requests instead of one walk
        per column. Each column stops on its own where its subtree ends.
        """
        found: dict[str, dict[str, Value]] = {column: {} for column in columns}
        prefixes = {column: oid_tuple(column) for column in columns}
        last: dict[str, Oid] = dict(prefixes)
        while last:
            pending = list(last)
            binds = await self._call([last[c] for c in pending], bulk=True)
            if not binds:
                raise ProbeFailure(Phase.RESPONSE, "the agent answered a GETBULK with no values")
            for position, (oid, value) in enumerate(binds):
                column = pending[position % len(pending)]
                if column not in last:
                    continue  # this column ended earlier in the same response
                prefix = prefixes[column]
                if value is Absent.END_OF_MIB_VIEW or oid[: len(prefix)] != prefix:
                    del last[column]
                    continue
                if oid <= last[column]:
                    raise ProbeFailure(Phase.RESPONSE, f"the agent returned OIDs out of order "
                                                       f"while walking {column}")
                last[column] = oid
                rows = found[column]
                rows[dotted(oid[len(prefix):])] = value
                if len(rows) > MAX_ROWS:
                    raise ProbeFailure(Phase.RESPONSE, f"more than {MAX_ROWS} rows in {column}")
            if self.requests > MAX_REQUESTS:
                raise ProbeFailure(Phase.RESPONSE, f"walk needed more than {MAX_REQUESTS} requests")
        return found

    async def _call(self, oids: list[Oid], *, bulk: bool) -> list[tuple[Oid, Value]]:
        self.requests += 1
        try:
            reply = await self.requester.request(oids, bulk=bulk)
        except NoAnswer as silence:
            raise await self._timeout(silence.note) from None
        if reply.error:
            raise self._error_status(reply)
        return reply.binds

    def _error_status(self, reply: Reply) -> ProbeFailure:
        name = reply.error
        position = reply.error_index - 1
        oid = f" on {dotted(reply.binds[position][0])}" \
            if 0 <= position < len(reply.binds) else ""
        if name in _ACCESS_DENIED:
            return ProbeFailure(Phase.AUTH, f"{self.endpoint}: access denied{oid} ({name}): "
                                            f"the agent's access rules exclude these credentials")
        if name == "noSuchName":
            return ProbeFailure(Phase.CONTENT, f"{self.endpoint}: no such object{oid}")
        return ProbeFailure(Phase.RESPONSE, f"{self.endpoint}: the agent answered {name}{oid}")

    async def _timeout(self, note: str) -> ProbeFailure:
        """No answer: say what can be told apart, and admit what cannot."""
        tries = self.endpoint.retries + 1
        base = (f"no response from {self.endpoint} "
                f"({tries} × {format_duration(self.endpoint.timeout)}{note})")
        # A live agent answers within milliseconds; few distinct values (pysnmp caches them).
        wait = round(min(self.endpoint.timeout, 0.5), 2)
        alive = self.time_left() >= wait + 0.05 and await self.requester.agent_answers(wait)
        v2c = self.requester.v2c
        if alive and v2c:
            return ProbeFailure(Phase.AUTH, f"{base}, yet the agent answers SNMPv3 discovery: "
                                            "the community is probably wrong (or this address "
                                            "may not use it)")
        if alive:
            return ProbeFailure(Phase.AUTH, f"{base}, yet the agent answers SNMPv3 discovery: "
                                            "the privacy key or protocol is probably wrong (an "
                                            "agent drops what it cannot decrypt)")
        if v2c:
            return ProbeFailure(Phase.TIMEOUT, f"{base}: the device is unreachable, does not "
                                               "run SNMP, or the community is wrong (an SNMPv2c "
                                               "agent stays silent on a wrong community)")
        return ProbeFailure(Phase.TIMEOUT, f"{base}: the device is unreachable or does not run "
                                           "SNMP")
