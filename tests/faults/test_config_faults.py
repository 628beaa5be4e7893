"""Values that used to pass validation and broke the daemon later: each is now a clear error
naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config.reader import ConfigInvalid
from monitord.configfile import load_config

CHECK = """
[[check]]
name = "web"
type = "tcp"
host = "127.0.0.1"
port = 9
"""


def _errors(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as caught:
        load_config(path)
    return str(caught.value)


@pytest.mark.parametrize(("line", "key"), [
    ('interval = "1ms"', "interval"),
    ('interval = "100000000000d"', "interval"),
    ('retry_interval = "1ms"', "retry_interval"),
    ('timeout = "400d"', "timeout"),
    ("flap_low = 60\nflap_high = 40", "flap_low"),
    ('labels = { "team name" = "ops" }', "labels"),
])
def test_check_values_out_of_bounds(tmp_path: Path, line: str, key: str) -> None:
    errors = _errors(tmp_path, CHECK + line + "\n")
    assert f'check "web": {key}:' in errors


def test_external_url_must_be_a_url(tmp_path: Path) -> None:
    errors = _errors(tmp_path, '[api]\nexternal_url = "not a url"\n' + CHECK)
    assert "api: external_url:" in errors


def test_empty_config(tmp_path: Path) -> None:
    assert "empty" in _errors(tmp_path, "\n# just a comment\n")


def test_bounds_are_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CHECK + 'interval = "100ms"\ntimeout = "1h"\nflap_low = 40\nflap_high = 40\n'
                    '[api]\nexternal_url = "https://monitord.example.net/"\n')
    config = load_config(path)
    assert config.checks[0].interval == 0.1
    assert config.api.external_url == "https://monitord.example.net"


def test_relative_secret_paths_are_from_the_config_directory(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "api.token").write_text("t\n")
    path = tmp_path / "conf" / "config.toml"
    path.write_text('[api]\ntoken_file = "api.token"\n' + CHECK.replace(
        'type = "tcp"\nhost = "127.0.0.1"\nport = 9',
        'type = "http"\nurl = "http://127.0.0.1:9/"\nusername = "u"\n'
        'password_file = "pw"\nheaders_file = "headers"'))
    monkeypatch.chdir(tmp_path)  # not the config's directory
    config = load_config(Path("conf/config.toml"))
    assert config.api.token is not None
    assert config.api.token.read() == "t"
    spec = config.checks[0].spec
    assert spec.password.file == str(tmp_path / "conf" / "pw")  # type: ignore[attr-defined]
    assert spec.headers_file.file == str(tmp_path / "conf" / "headers")  # type: ignore[attr-defined]


def test_zero_serial_drift_grace_reports_drift_on_first_sight() -> None:
    from datetime import datetime, timezone

    from monitord.checks._dns_audit import serial_drift
    from monitord.model import Status

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    findings = serial_drift({"ns1": 2, "ns2": 1}, now, now, 0.0, 7 * 86400.0)
    assert [f.status for f in findings] == [Status.WARNING]
