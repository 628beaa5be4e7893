"""``[[domain]]`` blocks: what they expand into, how settings reach each check, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.cli import select_checks
from monitord.config.reader import ConfigInvalid
from monitord.configfile import Config, load_config

DAY = 86400.0


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        load(tmp_path, text)
    return [str(e) for e in caught.value.errors]


PORTFOLIO = """
[defaults]
labels = { team = "web" }

[[domain]]
names = ["example.fr", "Example.CO.UK.", "example.de", "example.nl"]
expect = { A = ["192.0.2.10"], MX = ["10 mx.example.net."], "www AAAA" = ["2001:db8::10"] }
expiry = true
tls_hosts = ["www"]
resolvers = ["127.0.0.1:5353"]
labels = { severity = "warning" }
"""


def test_contract_block_expands_per_name(tmp_path: Path) -> None:
    config = load(tmp_path, PORTFOLIO)
    names = [c.name for c in config.checks if c.labels["domain"] == "example.co.uk"]
    assert names == [
        "dns:example.co.uk",
        "dns:example.co.uk:a",
        "dns:example.co.uk:mx",
        "dns:example.co.uk:aaaa:www.example.co.uk",
        "dns:example.co.uk:expiry",
        "dns:example.co.uk:tls:www.example.co.uk",
    ]
    assert len(config.expansion.checks) == 24
    assert config.expansion.describe() == (
        "domains: 4 names expanded into 24 checks (12 dns, 4 dns_authority, 4 domain_expiry, "
        "4 tls)")


def test_generated_checks_carry_what_they_look_at(tmp_path: Path) -> None:
    config = load(tmp_path, PORTFOLIO)
    authority = config.check("dns:example.fr")
    assert authority.type == "dns_authority"
    assert authority.spec.zone == "example.fr"  # type: ignore[attr-defined]
    assert set(authority.spec.expect) == {  # type: ignore[attr-defined]
        ("@", "A"), ("@", "MX"), ("www", "AAAA")}
    record = config.check("dns:example.fr:aaaa:www.example.fr")
    assert record.spec.query == "www.example.fr"  # type: ignore[attr-defined]
    assert record.spec.expect == frozenset({"2001:db8::10"})  # type: ignore[attr-defined]
    assert [str(r) for r in record.spec.resolvers] == ["127.0.0.1:5353"]  # type: ignore[attr-defined]
    tls = config.check("dns:example.nl:tls:www.example.nl")
    assert (tls.spec.host, tls.spec.port) == ("www.example.nl", 443)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "tld"), [
    ("example.fr", "fr"), ("example.co.uk", "uk"), ("example.de", "de")])
def test_labels(tmp_path: Path, name: str, tld: str) -> None:
    config = load(tmp_path, PORTFOLIO)
    for check in config.checks:
        if check.labels["domain"] == name:
            assert check.labels == {"team": "web", "severity": "warning", "domain": name,
                                    "tld": tld}
            assert check.alert_labels()["check"] == check.name


def test_settings_reach_the_right_kind(tmp_path: Path) -> None:
    config = load(tmp_path, """
[defaults]
interval = "30s"

[[domain]]
names = ["example.com"]
expect = { A = ["192.0.2.1"] }
tls_hosts = ["@", "shop:8443"]
interval = "2m"
serial_drift_grace = "4h"
warn_before = "60d"
port = 5353
[domain.tls]
warn_before = "10d"
[domain.domain_expiry]
timeout = "20s"
""")
    authority = config.check("dns:example.com")
    assert authority.interval == 120
    assert authority.spec.serial_drift_grace == 4 * 3600  # type: ignore[attr-defined]
    assert authority.spec.port == 5353  # type: ignore[attr-defined]
    assert config.check("dns:example.com:a").interval == 120
    expiry = config.check("dns:example.com:expiry")
    assert (expiry.interval, expiry.retry_interval, expiry.timeout) == (12 * 3600, 3600, 20)
    assert expiry.spec.warn_before == 60 * DAY  # type: ignore[attr-defined]
    apex = config.check("dns:example.com:tls:example.com")
    assert apex.spec.warn_before == 10 * DAY  # type: ignore[attr-defined]
    assert apex.spec.port == 443  # type: ignore[attr-defined]
    assert config.check("dns:example.com:tls:shop.example.com:8443").spec.port == 8443  # type: ignore[attr-defined]


def test_per_country_blocks(tmp_path: Path) -> None:
    config = load(tmp_path, """
[[domain]]
names = ["example.de", "example-shop.de"]
expires = { "example.de" = "2026-11-30" }
[domain.domain_expiry]
interval = "1d"

[[domain]]
names = ["example.nl"]
expiry = false
authority = false
expect = { A = ["192.0.2.1"] }
""")
    assert config.check("dns:example.de:expiry").spec.expires.isoformat() == "2026-11-30"  # type: ignore[attr-defined]
    assert config.check("dns:example-shop.de:expiry").spec.expires is None  # type: ignore[attr-defined]
    assert config.check("dns:example.de:expiry").interval == DAY
    assert [c.name for c in config.checks if c.labels["domain"] == "example.nl"] == [
        "dns:example.nl:a"]


def test_probe_selects_one_domains_family(tmp_path: Path) -> None:
    config = load(tmp_path, PORTFOLIO)
    chosen, unknown = select_checks(config, ["dns:example.de"])
    assert unknown == []
    assert {c.labels["domain"] for c in chosen} == {"example.de"}
    assert len(chosen) == 6


def test_checks_may_depend_on_generated_ones(tmp_path: Path) -> None:
    config = load(tmp_path, """
[[domain]]
names = ["example.fr"]
expiry = false

[[check]]
name = "shop"
type = "dns"
query = "shop.example.fr"
resolvers = ["127.0.0.1"]
depends_on = ["dns:example.fr"]
""")
    assert config.check("shop").depends_on == ("dns:example.fr",)


@pytest.mark.parametrize(("text", "message"), [
    ('names = ["example.fr"]\nserial_drift_grase = "1h"',
     'domain[1]: serial_drift_grase: unknown key (did you mean "serial_drift_grace"?)'),
    ('expect = { A = ["192.0.2.1"] }', "domain[1]: names: required"),
    ("names = []", "domain[1]: names: expected at least one domain name"),
    ('names = ["exa mple.fr"]', "domain[1]: names: not a valid domain name"),
    ('names = ["example.fr"]\ntls_hosts = ["www:99999"]', "domain[1]: tls_hosts: expected"),
    ('names = ["example.fr"]\nzone = "example.fr"', "domain[1]: zone: set by the expansion"),
    ('names = ["example.fr"]\n[domain.dns]\nquery = "x.fr"',
     "domain[1].dns: query: set by the expansion"),
    ('names = ["example.fr"]\n[domain.tls]\nwarn_befor = "3d"',
     "domain[1].tls: warn_befor: unknown key"),
    ('names = ["example.fr"]\nexpires = { "example.com" = "2027-01-01" }',
     "domain[1]: expires: names not in this block: example.com"),
    ('names = ["example.fr"]\nexpires = "soon"', 'expected a date like "2027-03-04"'),
    ('names = ["example.fr"]\nexpect = { PTR = ["x."] }', "expected a record type"),
    ('names = ["example.fr"]\nname = "x"', "domain[1]: name: set by the expansion"),
])
def test_block_errors(tmp_path: Path, text: str, message: str) -> None:
    found = errors(tmp_path, "[[domain]]\n" + text + "\n")
    assert any(message in e for e in found), found


def test_one_bad_setting_is_reported_once_for_many_names(tmp_path: Path) -> None:
    found = errors(tmp_path, """
[[domain]]
names = ["a.fr", "b.fr", "c.fr"]
rrsig_warn_before = 3
""")
    assert found == [f"{tmp_path / 'config.toml'}: domain[1]: rrsig_warn_before: expected a "
                     'duration like "10s", got 3']


def test_a_name_in_two_blocks_is_an_error(tmp_path: Path) -> None:
    found = errors(tmp_path, """
[[domain]]
names = ["example.fr"]
[[domain]]
names = ["EXAMPLE.fr"]
""")
    assert any('domain[2]: names: "example.fr" is already listed in domain[1]' in e
               for e in found), found
