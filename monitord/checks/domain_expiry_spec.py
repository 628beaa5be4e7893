"""The ``domain_expiry`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.checks.domain_expiry`) is imported when a check is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from monitord.checks import rdap_bootstrap
from monitord.checks.dns_records import parse_domain
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.durations import format_duration
from monitord.config.reader import Table, to_str

DAY = 86400.0

@dataclass(frozen=True, slots=True)
class Spec:
    domain: str
    rdap_url: str | None = None  # base URL ("https://rdap.nic.fr/"); None: none known
    expires: date | None = None  # entered by hand; wins over RDAP
    warn_before: float = 30 * DAY
    crit_before: float = 7 * DAY

    @property
    def target(self) -> str:
        """The RDAP server: the per-host cap then also spares the registry's rate limits."""
        return urlsplit(self.rdap_url).hostname or self.domain if self.rdap_url else self.domain


def parse(table: Table) -> Spec:
    domain = parse_domain(table, "domain")
    url = table.optional("rdap_url", _to_base_url)
    path = table.optional("rdap_bootstrap", to_str)
    if url is None and domain:
        try:
            url = rdap_bootstrap.load(path).url_for(domain)
        except (OSError, ValueError) as exc:
            table.error("rdap_bootstrap", f"cannot use the RDAP bootstrap file: {exc}")
    warn = table.duration("warn_before", 30 * DAY)
    crit = table.duration("crit_before", 7 * DAY)
    if crit > warn:
        table.error("crit_before", f"expected at most warn_before ({format_duration(warn)}), "
                                   f"got {format_duration(crit)}")
    return Spec(domain=domain, rdap_url=url, expires=table.optional("expires", _to_date),
                warn_before=warn, crit_before=crit)


def _to_base_url(value: object) -> str:
    text = to_str(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'expected an http(s) URL like "https://rdap.nic.fr/", got "{text}"')
    return text if text.endswith("/") else text + "/"


def _to_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # a TOML local date: expires = 2027-03-04
    text = to_str(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f'expected a date like "2027-03-04", got "{text}"') from None


KIND: CheckKind = Kind("domain_expiry", parse,
                       deferred("monitord.checks.domain_expiry", "DomainExpiryCheck"))
