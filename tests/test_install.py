"""The production install recipe (systemd/install.sh) run into a temporary prefix, and the
unit it writes checked by systemd's own tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe run once, with the agent's unit: a venv in <tmp>/opt/monitord, the units in
    <tmp>/units."""
    root = tmp_path_factory.mktemp("install")
    env = {**os.environ, "PREFIX": str(root / "opt/monitord"), "UNIT_DIR": str(root / "units"),
           "CONFIG_DIR": str(root / "etc/monitord")}
    done = subprocess.run(["sh", str(ROOT / "systemd/install.sh"), "--agent"], env=env, cwd=root,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert f"installed in {root}/opt/monitord" in done.stdout
    assert f"{root}/units/monitord-agent.service" in done.stdout
    assert "config.agent.example.toml" in done.stdout
    return root


def test_an_unknown_argument_is_refused_before_installing_anything(tmp_path: Path) -> None:
    env = {**os.environ, "PREFIX": str(tmp_path / "opt"), "UNIT_DIR": str(tmp_path / "units")}
    done = subprocess.run(["sh", str(ROOT / "systemd/install.sh"), "--agnet"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "unknown argument --agnet" in done.stderr
    assert not (tmp_path / "opt").exists()


def test_the_package_runs_from_the_prefix(installed: Path) -> None:
    binary = installed / "opt/monitord/bin/monitord"
    config = installed / "etc/monitord/config.toml"
    config.write_text('[monitord]\nlocation = "paris"\nstate_dir = "state"\n\n'
                      '[[check]]\nname = "router"\ntype = "icmp"\nhost = "127.0.0.1"\n')
    done = subprocess.run([str(binary), "check-config", "-c", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # The venv is self-contained: its monitord is not the development checkout's.
    where = subprocess.run([str(installed / "opt/monitord/bin/python"), "-c",
                            "import monitord; print(monitord.__file__)"],
                           capture_output=True, text=True, check=True, cwd=installed)
    assert where.stdout.startswith(str(installed / "opt/monitord/lib/"))


def test_the_unit_points_at_the_prefix(installed: Path) -> None:
    unit = (installed / "units/monitord.service").read_text()
    prefix, config_dir = installed / "opt/monitord", installed / "etc/monitord"
    assert f"ExecStart={prefix}/bin/monitord run -c {config_dir}/config.toml" in unit
    assert f"LoadCredential=monitord:{config_dir}/credentials" in unit
    assert "DynamicUser=yes" in unit
    assert (config_dir / "credentials").stat().st_mode & 0o777 == 0o700


def test_the_agent_unit_points_at_the_prefix(installed: Path) -> None:
    unit = (installed / "units/monitord-agent.service").read_text()
    prefix, config_dir = installed / "opt/monitord", installed / "etc/monitord"
    assert f"ExecStart={prefix}/bin/monitord agent -c {config_dir}/agent.toml" in unit
    assert f"ExecStartPre={prefix}/bin/monitord check-config -c {config_dir}/agent.toml" in unit
    assert f"LoadCredential=monitord:{config_dir}/credentials" in unit
    assert "/usr/local/bin" not in unit


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed "
                                            "(.ci/test-servers installs Debian's systemd)")
@pytest.mark.parametrize("unit", ["monitord.service", "monitord-agent.service"])
def test_systemd_analyze_verify_passes(installed: Path, unit: str) -> None:
    assert ANALYZE is not None
    done = subprocess.run([ANALYZE, "verify", str(installed / "units" / unit)],
                          capture_output=True, text=True, timeout=120, check=False)
    # verify prints nothing for a clean unit; it names a missing ExecStart binary, unknown
    # keys and bad values on stderr.
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed "
                                            "(.ci/test-servers installs Debian's systemd)")
@pytest.mark.parametrize("unit", ["monitord.service", "monitord-agent.service"])
def test_exposure_score_stays_low(installed: Path, unit: str) -> None:
    assert ANALYZE is not None
    done = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager",
                           str(installed / "units" / unit)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    score = re.search(rf"Overall exposure level for {re.escape(unit)}: ([\d.]+)", done.stdout)
    assert score is not None, done.stdout
    assert float(score[1]) <= 2.0  # README quotes 1.6 ("OK"); 10 is fully exposed
