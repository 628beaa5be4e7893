"""Config keys shared by the http, tcp, tls and snmp kinds: host, port, sizes, trust settings.

Plain parsing (no network library), so reading a config stays light.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from monitord.config.reader import Table, describe_value

MAX_CA_FILE = 16 * 1024 * 1024
_SIZE = re.compile(r"(\d+)\s*(B|KiB|MiB|GiB)?")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_HOST_NAME = re.compile(r"(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?"
                        r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?)*\.?")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def to_size(value: object) -> int:
    """A byte count: an integer, or a string with a binary unit (``"64KiB"``, ``"1MiB"``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match:
            return int(match[1]) * _UNITS[match[2]]
    raise ValueError(f'expected a size like "1MiB", "64KiB" or a number of bytes, '
                     f"got {describe_value(value)}")


def to_host(value: object) -> str:
    if not isinstance(value, str) or not (is_ip(value) or _HOST_NAME.fullmatch(value)):
        raise ValueError(f"expected a host name or an IP address, got {describe_value(value)}")
    return value


def host(table: Table) -> str:
    """The required ``host`` key: a host name or an IP address."""
    return table.get("host", to_host, "") if table.has("host") else table.str("host")


def size(table: Table, key: str, default: int, *, minimum: int, maximum: int) -> int:
    value = table.get(key, to_size, default)
    if not minimum <= value <= maximum:
        table.error(key, f"expected a size from {minimum} to {maximum} bytes, got {value}")
        return default
    return value


def port(table: Table, default: int | None = None) -> int:
    if default is None:
        return table.int("port", minimum=1, maximum=65535)
    return table.int("port", default, minimum=1, maximum=65535)


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """``tls_verify`` and ``ca_file`` (a PEM bundle trusted instead of the system store)."""

    verify: bool = True
    ca_file: str | None = None


DEFAULT_TLS = TlsOptions()


def tls_options(table: Table) -> TlsOptions:
    verify = table.bool("tls_verify", True)
    ca_file = table.optional("ca_file", _to_str_path)
    if ca_file is not None:
        path = Path(ca_file)
        if not path.is_absolute() and table.problems.file:
            path = Path(table.problems.file).parent / path  # relative to the config file
        ca_file = str(path)
        problem = _pem_problem(path)
        if problem:
            table.error("ca_file", f"cannot use {ca_file} as CA certificates: {problem}")
    return TlsOptions(verify=verify, ca_file=ca_file)


def _to_str_path(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a file path, got {describe_value(value)}")
    return value


def _pem_problem(path: Path) -> str | None:
    """Why ``path`` is not a PEM bundle (cheap: 5,000 checks may name the same file)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(MAX_CA_FILE)
    except OSError as exc:
        return exc.strerror or str(exc)
    if b"-----BEGIN CERTIFICATE-----" not in head:
        return "no PEM certificate in it"
    return None
