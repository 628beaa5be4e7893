"""The command line as an operator meets it: start-up weight, help, exit statuses, messages.

Every test runs ``python -m monitord …`` as a whole process, as it is typed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
HEAVY = ("aiohttp", "dns", "aiodns", "pycares", "pysnmp", "cryptography", "yarl", "asyncio",
         "structlog")


def monitord(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitord", *args], capture_output=True,
                          text=True, timeout=60, env=env, check=False)


def test_reading_a_config_imports_no_heavy_library() -> None:
    # The example uses every kind of check, [[domain]] expansion and [defaults].
    script = ("import sys; import monitord.cli; from monitord.configfile import load_config; "
              f"load_config({str(EXAMPLE)!r}); "
              f"print([m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_building_the_parser_imports_no_config_reader() -> None:
    script = ("import sys; from monitord.cli import build_parser; build_parser(); "
              "print(sorted(m for m in ('monitord.configfile', 'monitord.config.reader', "
              "'tomllib', 'http.client') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["run", "check-config", "probe", "routes", "test-notify",
                                     "status", "ack", "demo"])
def test_every_command_has_a_description_option_help_and_exit_statuses(command: str) -> None:
    done = monitord(command, "--help")
    assert done.returncode == 0
    out = done.stdout
    assert "exit status:" in out
    description = out.split("\n\n")[1]
    assert description.strip()
    assert not description.startswith(("options", "positional"))
    options = out.split("options:")[1]
    # every option line has its help text on the same or the next line
    lines = [line for line in options.splitlines() if line.strip()]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("  -") and not re.search(r"\S\s{2,}\S", line.strip()):
            assert lines[index + 1].startswith(" " * 10), f"{command}: no help for {line}"


@pytest.mark.parametrize("action", ["add", "list", "expire"])
def test_silence_actions_have_help(action: str) -> None:
    done = monitord("silence", action, "--help")
    assert done.returncode == 0
    assert "--api URL" in done.stdout
    assert "the daemon's API" in done.stdout


def test_client_help_names_every_argument() -> None:
    assert "the incident id" in monitord("ack", "--help").stdout
    assert "why, or who is on it" in monitord("ack", "--help").stdout
    assert "as JSON" in monitord("status", "--help").stdout
    assert "the silence id" in monitord("silence", "expire", "--help").stdout


def test_run_help_tells_of_reload_signals_exit_codes_and_log_level() -> None:
    out = monitord("run", "--help").stdout
    assert "SIGHUP" in out
    assert "reload" in out
    assert "2 bad config" in out
    assert "--log-level LEVEL" in out


def test_readme_command_table_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s{4}(\S+)\s", monitord("--help").stdout.split("COMMAND\n")[-1],
                          re.M)
    assert commands
    for command in commands:
        assert f"`monitord {command}" in readme, command


def test_routes_without_labels_explains_the_default_route() -> None:
    done = monitord("routes", "-c", str(EXAMPLE), "--at", "2026-03-30T22:00:00+02:00")
    assert done.returncode == 0, done.stderr
    assert "default route" in done.stdout
    assert "no route matched: [alerting] default_receivers" in done.stdout


def test_routes_json() -> None:
    done = monitord("routes", "-c", str(EXAMPLE), "--at", "2026-03-30T22:00:00+02:00",
                    "--label", "severity=critical", "--json")
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert decision["labels"] == {"severity": "critical"}
    assert decision["routes"][0]["route"] == 1  # counted as the user counts
    now = {r["receiver"] for r in decision["receivers"] if r["deliver_now"]}
    assert now == {"oncall"}


def test_probe_of_an_unknown_check_is_bad_input(tmp_path: Path) -> None:
    done = monitord("probe", "-c", str(EXAMPLE), "--check", "nope")
    assert done.returncode == 2
    assert 'no check named "nope"' in done.stderr


def test_check_config_errors_carry_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent("""\
        [monitord]
        location = "here"

        [[check]]
        type = "tcp"
        host = "127.0.0.1"
        port = 1

        [[check]]
        name = "www-fr"
        type = "tcp"
        host = "127.0.0.1"
        port = 2
        timeout = 10

        [[route]]
        receivers = ["nobody"]
        """))
    done = monitord("check-config", "-c", str(path))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert f"{path}:4: check[1]: name: required" in lines
    assert f'{path}:14: check "www-fr": timeout: expected a duration like "10s", got 10' \
        in lines
    assert f'{path}:17: route[1]: receivers: no receiver named "nobody"' in lines


def test_log_level_flag_is_validated() -> None:
    done = monitord("run", "-c", str(EXAMPLE), "--log-level", "loud")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_log_events_are_one_documented_snake_case_vocabulary() -> None:
    found = set()
    for path in (ROOT / "monitord").rglob("*.py"):
        found |= set(re.findall(r'\blog\.(?:debug|info|warning|error|exception)\(\s*"([^"]+)"',
                                path.read_text()))
    assert found
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in found), found
    documented = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \|",
                                (ROOT / "docs" / "logging.md").read_text(), re.M))
    names = {n for pair in documented for n in pair if n}
    assert found <= names, found - names


def test_the_example_shows_what_a_real_deployment_uses() -> None:
    done = monitord("check-config", "-c", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "agents: london (2 checks), frankfurt (2 checks)" in done.stdout
    assert "api: 0.0.0.0:9300 (https)" in done.stdout
    assert " icmp" in done.stdout
    assert " nagios" in done.stdout
    text = EXAMPLE.read_text()
    for key in ("quorum = 2", "evidence_timeout", "history_retention", "public_status = true",
                "tls_cert_file"):
        assert key in text, key


def test_check_config_says_none_rather_than_zero_counts(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[check]]\nname = "x"\ntype = "tcp"\nhost = "127.0.0.1"\nport = 1\n')
    done = monitord("check-config", "-c", str(path))
    assert done.returncode == 0, done.stderr
    assert "  domains: none\n" in done.stdout
    assert "  agents: none\n" in done.stdout


def test_routes_at_now() -> None:
    done = monitord("routes", "-c", str(EXAMPLE), "--at", "now", "--check", "shop-fr", "--json")
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", decision["at"])
    assert decision["labels"]["check"] == "shop-fr"
