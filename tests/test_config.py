"""Config loading: every kind of error, reported together, with file and key path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitord.cli import main
from monitord.config.durations import format_duration, parse_duration
from monitord.config.reader import ConfigInvalid
from monitord.configfile import load_config

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text))
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30), ("5m", 300), ("4h", 14400), ("2d", 172800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "", "10 s", "s", "1y", "-5s", "5m3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0.25, 90, 86400 + 61)] == ["250ms", "1m30s", "1d1m1s"]


def test_valid_config_with_defaults_inherited(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [monitord]
        location = "paris"
        state_dir = "state"
        [defaults]
        interval = "30s"
        timeout = "5s"
        confirm = 2
        tls_verify = false          # an http/tcp key: inherited only by checks that know it
        [[check]]
        name = "web"
        type = "http"
        url = "http://127.0.0.1:8080/"
        [[check]]
        name = "port"
        type = "tcp"
        host = "127.0.0.1"
        port = 22
        interval = "10s"
        depends_on = ["web"]
    """)
    config = load_config(path)
    web, port = config.checks
    assert (web.interval, web.timeout, web.confirm) == (30.0, 5.0, 2)
    assert port.interval == 10.0
    assert web.locations == ("paris",)
    assert config.monitord.state_dir == tmp_path.resolve() / "state"
    assert web.alert_labels() == {"check": "web", "type": "http", "severity": "critical"}


def test_every_error_is_reported_together_with_file_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [monitord]
        location = "paris"
        timezone = "Europe/Pariss"
        [defaults]
        intervall = "30s"
        [[check]]
        name = "www-fr"
        type = "http"
        url = "http://127.0.0.1/"
        timeout = 10
        [[check]]
        name = "www-fr"
        type = "tcp"
        host = "127.0.0.1"
        port = "twenty-two"
        [[check]]
        name = "Bad Name"
        type = "htp"
        [[check]]
        name = "a"
        type = "tcp"
        host = "127.0.0.1"
        port = 1
        depends_on = ["b", "ghost"]
        retry_intervall = "5s"
        [[check]]
        name = "b"
        type = "tcp"
        host = "127.0.0.1"
        port = 1
        depends_on = ["a"]
        confirm = "3"
        [extra]
        x = 1
    """)
    errors = errors_of(path)
    file = str(path)
    expected = [
        f'{file}:4: monitord: timezone: unknown time zone "Europe/Pariss"',
        f'{file}:6: defaults: intervall: unknown key (did you mean "interval"?)',
        f'{file}:11: check "www-fr": timeout: expected a duration like "10s", got 10',
        f'{file}:16: check "www-fr": port: expected an integer, got "twenty-two"',
        f'{file}:13: check[2] "www-fr": name: duplicate check name (first used by check[1])',
        f'{file}:18: check "Bad Name": name: expected a name made of a-z 0-9 . _ -',
        f'{file}:19: check "Bad Name": type: unknown check type "htp"',
        f'{file}:25: check "a": depends_on: no check named "ghost"',
        f'{file}:26: check "a": retry_intervall: unknown key (did you mean "retry_interval"?)',
        f'{file}:33: check "b": confirm: expected an integer, got "3"',
        f"{file}: check: depends_on: dependency cycle a -> b -> a",
        f"{file}:34: extra: unknown key",
    ]
    for line in expected:
        assert any(e.startswith(line) for e in errors), f"missing: {line}\ngot:\n" + "\n".join(
            errors)
    assert len(errors) == len(expected)


def test_secrets_are_never_inline(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [api]
        token = "s3cret"
    """)
    (error,) = errors_of(path)
    assert "api: token: secrets are never written in the config" in error
    assert "s3cret" not in error


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[monitord\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:1: invalid TOML")


def test_missing_file(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path / "nope.toml")
    assert "cannot read the file" in error


def test_check_config_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, """
        [[check]]
        name = "port"
        type = "tcp"
        host = "127.0.0.1"
        port = 22
    """)
    assert main(["check-config", "-c", str(good)]) == 0
    assert "checks: 1 (1 tcp)" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[check]]\nname = "x"\ntype = "tcp"\nport = 0\n')
    assert main(["check-config", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f'{bad}:1: check "x": host: required' in err
    assert f'{bad}:4: check "x": port: expected an integer from 1 to 65535' in err


def test_check_config_via_environment_and_module(tmp_path: Path) -> None:
    path = write(tmp_path, "[monitord]\nlocation = \"x\"\n")
    proc = subprocess.run([sys.executable, "-m", "monitord", "check-config"], cwd=tmp_path,
                          env={"MONITORD_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_example_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "-c", str(REPO / "config.example.toml")]) == 0
