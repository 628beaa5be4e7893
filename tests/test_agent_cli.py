"""``monitord agent`` and ``check-config`` on an agent's file, as an operator meets them:
validation before deployment, one-line start-up failures, an unreachable central said aloud."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import trustme

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
AGENT_EXAMPLE = ROOT / "config.agent.example.toml"


def monitord(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitord", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def agent_file(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "london"
        state_dir = "state"
        log_format = "json"
        [central]
        url = "{url}"
        token_file = "agent.token"
    """) + extra)
    return path


def test_check_config_validates_an_agent_file(tmp_path: Path) -> None:
    path = agent_file(tmp_path, "https://127.0.0.1:9300", 'ca_file = "ca.pem"\n')
    done = monitord("check-config", "-c", str(path))
    assert done.returncode == 0, done.stderr
    assert "a probe agent's file" in done.stdout
    assert f"CA {tmp_path / 'ca.pem'}" in done.stdout, "relative to the file, not the cwd"
    assert "poll every 30s" in done.stdout

    path.write_text(path.read_text() + 'bufer_max = 10\n')
    done = monitord("check-config", "-c", str(path))
    assert done.returncode == 2
    assert 'did you mean "buffer_max"' in done.stderr


def test_the_agent_example_is_valid() -> None:
    done = monitord("check-config", "-c", str(AGENT_EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "location london" in done.stdout


def test_unreadable_token_or_ca_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    path = agent_file(tmp_path, "https://127.0.0.1:9300", 'ca_file = "ca.pem"\n')
    done = monitord("agent", "-c", str(path))
    assert done.returncode == 2
    assert f"central.token: cannot read file {tmp_path / 'agent.token'}" in done.stderr
    assert f"central.ca_file: cannot read {tmp_path / 'ca.pem'}" in done.stderr
    assert "Traceback" not in done.stderr

    (tmp_path / "agent.token").write_text("t0ken\n")
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    done = monitord("agent", "-c", str(path))
    assert done.returncode == 2
    assert "holds no usable certificate" in done.stderr
    assert "t0ken" not in done.stderr

    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    assert monitord("check-config", "-c", str(path)).returncode == 0


def test_an_unreachable_central_is_logged_even_with_nothing_to_post(tmp_path: Path) -> None:
    path = agent_file(tmp_path, f"http://127.0.0.1:{free_port()}")
    (tmp_path / "agent.token").write_text("t0ken\n")
    proc = subprocess.Popen([sys.executable, "-m", "monitord", "agent", "-c", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    events: list[dict[str, object]] = []
    lines: queue.Queue[str] = queue.Queue()
    try:
        assert proc.stderr is not None  # the log stream (journald takes both)
        # A reader thread, not select() on the pipe: the text wrapper buffers lines that
        # arrived together, which select() would never report again.
        def pump() -> None:
            for line in proc.stderr or ():
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            events.append(json.loads(line))
            if events[-1]["event"] == "central_unreachable":
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    names = [e["event"] for e in events]
    assert "central_unreachable" in names, names
    assert "t0ken" not in json.dumps(events)
