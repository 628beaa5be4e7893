"""Start a real Knot DNS server (knotd) on a loopback address for the tests.

    server = start_knot(tmp_path, {"example.test": ZONE_TEXT}, address="127.0.0.2")
    ... query server.address:server.port over UDP or TCP ...
    server.set_zone("example.test", NEW_TEXT)   # rewrites the file, reloads, waits for it
    server.stop()

Every instance has its own directory (config, rundir, storage, control socket), so several can
run side by side on different 127.0.0.x addresses, on the same port or not. A server started
without a zone answers REFUSED to everything: that is a lame server. A zone given the text
``UNLOADABLE`` (the empty string) is configured but fails to load: knotd answers SERVFAIL for it.

Zone texts are served as they are (no signing, no serial bump, semantic checks off) so tests can
serve deliberately broken zones (stale serials, expired RRSIGs, mismatched glue).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from tests.conftest import free_port

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
START_TIMEOUT = 10.0
UNLOADABLE = ""


def free_udp_tcp_port(addresses: list[str]) -> int:
    """A port free for both UDP and TCP on every address given."""
    for _ in range(50):
        port = free_port(addresses[0])
        if all(_port_free(address, port) for address in addresses):
            return port
    raise RuntimeError(f"no port free for UDP and TCP on {addresses}")


def _port_free(address: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as sock:
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _file_name(zone: str) -> str:
    return _fqdn(zone).rstrip(".").lower() or "root"


@dataclass
class KnotServer:
    """A running knotd. `address`/`port` is where it answers (UDP and TCP)."""

    directory: Path
    address: str
    port: int
    zones: dict[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.directory / "knot.conf"

    @property
    def endpoint(self) -> str:
        """"ip:port" (IPv6 in brackets), the form the checks' `resolvers` key takes."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def zone_path(self, zone: str) -> Path:
        return self.directory / "zones" / f"{_file_name(zone)}.zone"

    def _write_config(self) -> None:
        d = self.directory
        listen = f"{self.address}@{self.port}"
        lines = [
            "server:",
            f'    rundir: "{d / "run"}"',
            f'    listen: "{listen}"',
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "control:",
            f'    listen: "{d / "run" / "knot.sock"}"',
            "log:",
            "  - target: stderr",
            "    any: warning",
            "database:",
            f'    storage: "{d / "db"}"',
            "template:",
            "  - id: default",
            f'    storage: "{d / "zones"}"',
            '    file: "%s.zone"',
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
            "    serial-policy: increment",
        ]
        if self.zones:
            lines.append("zone:")
            for zone in self.zones:
                lines.append(f'  - domain: "{_fqdn(zone)}"')
                lines.append(f'    file: "{self.zone_path(zone)}"')
        self.config_path.write_text("\n".join(lines) + "\n")

    def _write_zone(self, zone: str, text: str) -> None:
        if text == UNLOADABLE:
            text = "this line is not a record\n"
        self.zone_path(zone).write_text(text if text.endswith("\n") else text + "\n")

    def start(self) -> None:
        for sub in ("run", "db", "zones"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        for zone, text in self.zones.items():
            self._write_zone(zone, text)
        self._write_config()
        log = open(self.directory / "knotd.log", "ab")  # noqa: SIM115 - kept for the process life
        self.process = subprocess.Popen(
            [KNOTD, "-c", str(self.config_path)], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        for zone, text in self.zones.items():
            if text == UNLOADABLE:
                self._wait_for(zone, lambda rcode, serial: rcode == dns.rcode.SERVFAIL, deadline)
            else:
                self._wait_for(zone, _serial_is(_serial_of(text)), deadline)
        if not self.zones:
            self._wait_for(".", lambda rcode, serial: True, deadline)

    def set_zone(self, zone: str, text: str) -> None:
        """Replace a zone's content and reload; returns once the new SOA serial is served.

        The new text must carry a different SOA serial (that is how the reload is observed).
        """
        self.zones[zone] = text
        self._write_zone(zone, text)
        self.knotc("zone-reload", _fqdn(zone))
        self._wait_for(zone, _serial_is(_serial_of(text)), time.monotonic() + START_TIMEOUT)

    def knotc(self, *args: str) -> str:
        done = subprocess.run(
            [KNOTC, "-c", str(self.config_path), *args],
            capture_output=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(args)} failed: {done.stderr.decode()}")
        return done.stdout.decode()

    def soa_serial(self, zone: str) -> int | None:
        """The SOA serial served for `zone` (None when it answers but not with a SOA)."""
        return self._soa(zone)[1]

    def _soa(self, zone: str) -> tuple[dns.rcode.Rcode, int | None]:
        query = dns.message.make_query(_fqdn(zone), dns.rdatatype.SOA)
        query.flags &= ~dns.flags.RD
        response = dns.query.udp(query, self.address, timeout=0.5, port=self.port)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return response.rcode(), int(rrset[0].serial)
        return response.rcode(), None

    def _wait_for(self, zone: str, ready: Callable[[dns.rcode.Rcode, int | None], bool],
                  deadline: float) -> None:
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"knotd exited early:\n{self.log_text()}")
            try:
                rcode, serial = self._soa(zone)
                if ready(rcode, serial):
                    return
                last_error = f"rcode {dns.rcode.to_text(rcode)}, serial {serial}"
            except (OSError, dns.exception.DNSException) as exc:
                last_error = repr(exc)
            time.sleep(0.02)
        raise RuntimeError(f"knotd on {self.endpoint} not ready for {zone}: {last_error}\n"
                           f"{self.log_text()}")

    def log_text(self) -> str:
        path = self.directory / "knotd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


def _serial_is(expected: int) -> Callable[[dns.rcode.Rcode, int | None], bool]:
    return lambda rcode, serial: serial == expected


def _serial_of(text: str) -> int:
    """The SOA serial of a zone text (parsed with dnspython, so $ORIGIN/$TTL work)."""
    for line in text.splitlines():
        if line.startswith("$ORIGIN"):
            origin = line.split()[1]
            break
    else:
        origin = None
    zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
    assert zone.origin is not None
    soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
    if soa is None:
        raise ValueError("zone text has no SOA at its origin")
    return int(soa[0].serial)


def start_knot(
    tmp_path: Path,
    zones: dict[str, str],
    address: str = "127.0.0.1",
    port: int | None = None,
) -> KnotServer:
    """Start knotd serving `zones` (name -> zone file text) on address:port (UDP and TCP).

    Zone texts need an `$ORIGIN` line or fully qualified owner names. With no port, a free one
    is picked. Returns once every zone answers its SOA; raises with knotd's log otherwise.
    """
    if port is None:
        port = free_udp_tcp_port([address])
    directory = tmp_path / f"knot-{address.replace(':', '_')}-{port}"
    server = KnotServer(directory=directory, address=address, port=port, zones=dict(zones))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def knot_factory(tmp_path: Path) -> Iterator[Callable[..., KnotServer]]:
    """Fixture: `knot_factory(zones, address=..., port=...)` starts a knotd, stopped at teardown."""
    started: list[KnotServer] = []

    def factory(
        zones: dict[str, str], address: str = "127.0.0.1", port: int | None = None
    ) -> KnotServer:
        server = start_knot(tmp_path, zones, address=address, port=port)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()

