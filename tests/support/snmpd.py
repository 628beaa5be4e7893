"""net-snmp ``snmpd`` on a loopback port, started by the tests, with a device they control.

The agent gets its own config and persistent directory (``SNMPCONFPATH`` and
``SNMP_PERSISTENT_DIR`` point there, so nothing under /etc or /var/lib is read or written).
SNMPv3 users are created the net-snmp way: ``createUser`` lines in the persistent
``snmpd.conf`` before the first start, which snmpd turns into localized ``usmUser`` entries.
snmpd's own IF-MIB is switched off (``-I -ifTable,-ifXTable,-interfaces``) and the device is
served from a JSON file through ``pass_persist`` (``backend="pass"``, the tests rewrite the
file to take an interface down, move counters or move the uptime backwards), or from static
``override`` lines answered by snmpd itself (``backend="override"``, fast, for the bench).

The same environment makes ``snmptrap``/``snmpinform`` usable without touching the system
(:func:`send_notification`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
PASS_SCRIPT = Path(__file__).with_name("snmp_passpersist.py")
SYS_UPTIME = ".1.3.6.1.2.1.1.3"
IF_TABLE = ".1.3.6.1.2.1.2.2"
IF_X_TABLE = ".1.3.6.1.2.1.31.1.1"
ENTERPRISE = ".1.3.6.1.4.1.99999"  # the tests' own "vendor" objects (firewall sessions…)


@dataclass(frozen=True)
class V3User:
    name: str
    auth_key: str
    priv_key: str | None = None
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"


@dataclass(frozen=True)
class Iface:
    index: int
    name: str
    alias: str = ""
    admin: int = 1
    oper: int = 1
    speed: int = 1000  # Mbit/s
    in_octets: int = 0
    out_octets: int = 0
    in_errors: int = 0
    out_errors: int = 0
    in_discards: int = 0
    out_discards: int = 0

    def values(self) -> dict[str, tuple[str, str | int]]:
        i = self.index
        return {
            f"{IF_TABLE}.1.1.{i}": ("integer", i),
            f"{IF_TABLE}.1.2.{i}": ("string", f"port {self.name}"),
            f"{IF_TABLE}.1.7.{i}": ("integer", self.admin),
            f"{IF_TABLE}.1.8.{i}": ("integer", self.oper),
            f"{IF_TABLE}.1.13.{i}": ("counter", self.in_discards),
            f"{IF_TABLE}.1.14.{i}": ("counter", self.in_errors),
            f"{IF_TABLE}.1.19.{i}": ("counter", self.out_discards),
            f"{IF_TABLE}.1.20.{i}": ("counter", self.out_errors),
            f"{IF_X_TABLE}.1.1.{i}": ("string", self.name),
            f"{IF_X_TABLE}.1.6.{i}": ("counter64", self.in_octets),
            f"{IF_X_TABLE}.1.10.{i}": ("counter64", self.out_octets),
            f"{IF_X_TABLE}.1.15.{i}": ("gauge", self.speed),
            f"{IF_X_TABLE}.1.18.{i}": ("string", self.alias),
        }


def switch_ports(count: int, **changes: object) -> list[Iface]:
    return [replace(Iface(i, f"ge-0/0/{i - 1}", alias=f"port {i}"), **changes)  # type: ignore[arg-type]
            for i in range(1, count + 1)]


# Types as pass_persist names them -> as snmpd's override directive names them.
_OVERRIDE_TYPES = {"integer": "integer", "string": "octet_str", "gauge": "unsigned",
                   "timeticks": "timeticks"}


def tools_env(workdir: Path) -> dict[str, str]:
    """Environment for net-snmp programs that reads and writes only under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNMP")}
    env.update(SNMPCONFPATH=str(workdir), SNMP_PERSISTENT_DIR=str(workdir), MIBS="",
               MIBDIRS=str(workdir), HOME=str(workdir))
    return env


@dataclass
class SnmpAgent:
    workdir: Path
    port: int
    community: str = "public"
    users: tuple[V3User, ...] = ()
    backend: str = "pass"  # or "override" (static, snmpd answers by itself)
    values: dict[str, tuple[str, str | int]] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def persist_dir(self) -> Path:
        return self.workdir / "persist"

    def set_interfaces(self, ifaces: Iterable[Iface]) -> None:
        self.values = {k: v for k, v in self.values.items()
                       if not k.startswith((IF_TABLE + ".", IF_X_TABLE + "."))}
        for iface in ifaces:
            self.values.update(iface.values())
        self._publish()

    def set_uptime(self, ticks: int) -> None:
        self.set(f"{SYS_UPTIME}.0", "timeticks", ticks)

    def set(self, oid: str, kind: str, value: str | int) -> None:
        self.values[oid] = (kind, value)
        self._publish()

    def remove(self, oid: str) -> None:
        self.values.pop(oid, None)
        self._publish()

    def _publish(self) -> None:
        if self.backend != "pass":
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = self.workdir / "state.json"
        temp = state.with_suffix(".tmp")
        temp.write_text(json.dumps({k: [t, str(v)] for k, (t, v) in self.values.items()}))
        os.replace(temp, state)  # the helper never sees a half-written file

    def _config(self) -> str:
        lines = [
            f"agentaddress udp:127.0.0.1:{self.port}",
            f"rocommunity {self.community} 127.0.0.1",
            "dontLogTCPWrappersConnects yes",
        ]
        lines += [f"rouser {u.name} {'priv' if u.priv_key else 'auth'}" for u in self.users]
        if self.backend == "pass":
            state = self.workdir / "state.json"
            for base, priority in ((SYS_UPTIME, "-p 1 "), (IF_TABLE, ""), (IF_X_TABLE, ""),
                                   (ENTERPRISE, "")):
                lines.append(f"pass_persist {priority}{base} {sys.executable} {PASS_SCRIPT} "
                             f"{state} {base}")
        else:
            for oid, (kind, value) in self.values.items():
                text = f'"{value}"' if kind == "string" else str(value)
                if kind in _OVERRIDE_TYPES:
                    lines.append(f"override {oid} {_OVERRIDE_TYPES[kind]} {text}")
        return "\n".join(lines) + "\n"

    def start(self) -> SnmpAgent:
        self.persist_dir.mkdir(parents=True, exist_ok=True)
        persistent = self.persist_dir / "snmpd.conf"
        if not persistent.exists():
            persistent.write_text("".join(
                f"createUser {u.name} {u.auth_protocol} {u.auth_key}"
                + (f" {u.priv_protocol} {u.priv_key}" if u.priv_key else "") + "\n"
                for u in self.users))
        self._publish()
        config = self.workdir / "snmpd.conf"
        config.write_text(self._config())
        log = open(self.workdir / "snmpd.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [SNMPD, "-f", "-Lo", "-c", str(config), "-I", "-ifTable,-ifXTable,-interfaces"],
            stdout=log, stderr=subprocess.STDOUT, env=tools_env(self.persist_dir),
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"snmpd exited: {self.log()[-2000:]}")
            probe = subprocess.run(
                ["snmpget", "-v2c", "-c", self.community, "-t", "0.3", "-r", "0", "-On",
                 self.address, ".1.3.6.1.6.3.10.2.1.2.0"],
                env=tools_env(self.workdir / "tools"), capture_output=True, check=False,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"snmpd did not answer on {self.address}: {self.log()[-2000:]}")

    def log(self) -> str:
        path = self.workdir / "snmpd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """A reboot as the network sees it: sysUpTime restarts, snmpEngineBoots goes up."""
        self.stop()
        self.start()


def send_notification(
    workdir: Path, target: str, trap_oid: str,
    varbinds: Mapping[str, tuple[str, str]] | None = None,
    *, community: str = "public", user: V3User | None = None, engine_id: str | None = None,
    inform: bool = False, source: str | None = None, uptime: str = "12345",
) -> subprocess.CompletedProcess[str]:
    """``snmptrap``/``snmpinform`` (v2c with ``community``, v3 with ``user``)."""
    command = ["snmpinform" if inform else "snmptrap", "-t", "1", "-r", "1"]
    if user is not None:
        command += ["-v3", "-u", user.name, "-a", user.auth_protocol, "-A", user.auth_key]
        if user.priv_key:
            command += ["-l", "authPriv", "-x", user.priv_protocol, "-X", user.priv_key]
        else:
            command += ["-l", "authNoPriv"]
        if engine_id and not inform:
            command += ["-e", engine_id]
    else:
        command += ["-v2c", "-c", community]
    if source:
        command.append(f"--clientaddr={source}")
    command += [target, uptime, trap_oid]
    for oid, (kind, value) in (varbinds or {}).items():
        command += [oid, kind, value]
    return subprocess.run(command, env=tools_env(workdir), capture_output=True, text=True,
                          timeout=15, check=False)
