"""Start-up faults: each is one line on stderr and exit 2 (bad input) or 1 (environment).

Nothing here may print a traceback, and a database file monitord did not write (empty,
damaged, foreign, read-only) is refused, never replaced.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.faults.edges import TOKEN, Outcome, config_text, monitord


def _setup(tmp_path: Path, extra_monitord: str = "", extra: str = "") -> Path:
    (tmp_path / "token").write_text(TOKEN + "\n")
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path, free_port(), extra_monitord, extra))
    return path


def _one_line(outcome: Outcome, code: int, *needles: str) -> str:
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.code == code, outcome.stderr
    assert len(lines) <= 2, outcome.stderr  # the problem, and "1 problem(s) found" for configs
    for needle in needles:
        assert needle in outcome.stderr, outcome.stderr
    return lines[0]


def test_deeply_nested_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    _one_line(monitord("run", "-c", str(path)), 2, "config.toml", "nested")


def test_empty_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# nothing yet\n")
    _one_line(monitord("run", "-c", str(path)), 2, "config.toml", "empty")


@pytest.mark.parametrize("url", ["http://[::1/", "http://127.0.0.1:99999/", "http://a..b/",
                                 f"http://{'a' * 64}.example/"])
def test_malformed_url_is_a_config_error(tmp_path: Path, url: str) -> None:
    path = _setup(tmp_path, extra=f"""
        [[check]]
        name = "web"
        type = "http"
        url = "{url}"
    """)
    _one_line(monitord("run", "-c", str(path)), 2, 'check "web"', "url")


def test_resolver_that_is_not_an_address_is_a_config_error(tmp_path: Path) -> None:
    path = _setup(tmp_path, extra_monitord='resolvers = ["not-an-ip"]')
    _one_line(monitord("check-config", "-c", str(path)), 2, "resolvers", "not-an-ip")


@pytest.mark.parametrize("content", [b"", b"this is not a database at all " * 200])
def test_empty_or_foreign_database_is_refused_not_replaced(tmp_path: Path,
                                                           content: bytes) -> None:
    path = _setup(tmp_path)
    db = tmp_path / "monitord.db"
    db.write_bytes(content)
    _one_line(monitord("run", "-c", str(path)), 2, str(db))
    assert db.read_bytes() == content


def test_database_of_another_program_is_refused(tmp_path: Path) -> None:
    path = _setup(tmp_path)
    db = tmp_path / "monitord.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    _one_line(monitord("run", "-c", str(path)), 2, str(db), "monitord")
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["songs"]


def test_damaged_database_is_refused(tmp_path: Path) -> None:
    path = _setup(tmp_path)
    db = tmp_path / "monitord.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INT)")
        conn.executemany("INSERT INTO schema_version VALUES (?, 1)",
                         [(f"c{i}" * 50,) for i in range(300)])
    data = bytearray(db.read_bytes())
    data[4096:8192] = b"\xa5" * 4096  # overwrite a page of the table
    db.write_bytes(bytes(data))
    _one_line(monitord("run", "-c", str(path)), 2, str(db))


def test_read_only_database_is_refused(tmp_path: Path) -> None:
    path = _setup(tmp_path)
    state = tmp_path / "ro"
    state.mkdir()
    path.write_text(path.read_text().replace(f'state_dir = "{tmp_path}"',
                                             f'state_dir = "{state}"'))
    first = monitord("check-config", "-c", str(path))
    assert first.code == 0, first.stderr
    db = state / "monitord.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INT)")
    # chattr +i makes the file read-only even for root, as a read-only mount would.
    import subprocess
    subprocess.run(["chattr", "+i", str(db), str(state)], check=True)
    try:
        _one_line(monitord("run", "-c", str(path)), 2, str(db))
    finally:
        subprocess.run(["chattr", "-i", str(db), str(state)], check=True)


def test_unreadable_secret_is_exit_2(tmp_path: Path) -> None:
    path = _setup(tmp_path)
    (tmp_path / "token").unlink()
    _one_line(monitord("run", "-c", str(path)), 2, "token")


def test_port_in_use_is_exit_1(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = tmp_path / "config.toml"
        path.write_text(config_text(tmp_path, port))
        _one_line(monitord("run", "-c", str(path)), 1, f"127.0.0.1:{port}")


def test_status_with_a_missing_config_names_the_file(tmp_path: Path) -> None:
    outcome = monitord("status", "-c", str(tmp_path / "missing.toml"))
    _one_line(outcome, 2, "missing.toml")
    assert "cannot reach" not in outcome.stderr


def test_receiver_ca_file_that_is_not_pem_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    path = _setup(tmp_path, extra=f"""
        [alerting]
        default_receivers = ["hook"]
        [[receiver]]
        name = "hook"
        type = "webhook"
        url = "https://127.0.0.1:{free_port()}/hook"
        ca_file = "ca.pem"
    """)
    _one_line(monitord("run", "-c", str(path)), 2, str(tmp_path / "ca.pem"), "ca_file")
