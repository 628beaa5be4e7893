"""The explicit registry of check kinds: type name -> kind. Add a kind here, nowhere else."""

from __future__ import annotations

from collections.abc import Mapping

from monitord.checks import dns, dns_authority, http, tcp, tls
from monitord.checks.base import CheckKind

KINDS: Mapping[str, CheckKind] = {
    "dns": dns.KIND,
    "dns_authority": dns_authority.KIND,
    "http": http.KIND,
    "tcp": tcp.KIND,
    "tls": tls.KIND,
}
