"""Secrets given as systemd credentials: ``<name>_credential`` → $CREDENTIALS_DIRECTORY/<name>."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitord.config.reader import Problems, SecretRef, Table
from monitord.config.secrets import unreadable_secrets


def secret(data: dict[str, Any]) -> tuple[SecretRef | None, list[str]]:
    problems = Problems("c.toml")
    ref = Table(problems, "smtp", data).secret("password")
    return ref, [str(e) for e in problems.errors]


def test_a_credential_is_read_from_the_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "smtp.password").write_text("hunter2\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    ref, errors = secret({"password_credential": "smtp.password"})
    assert errors == []
    assert ref == SecretRef(credential="smtp.password")
    assert ref.read() == "hunter2"
    assert unreadable_secrets({"smtp": ref}) == []


def test_a_missing_credential_is_a_start_up_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = SecretRef(credential="api.token")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert unreadable_secrets({"api": ref}) == [
        ".api: cannot read credential api.token ($CREDENTIALS_DIRECTORY): "
        "$CREDENTIALS_DIRECTORY is not set (no LoadCredential= for this process)"]
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert unreadable_secrets({"api": ref}) == [
        ".api: cannot read credential api.token ($CREDENTIALS_DIRECTORY): "
        "No such file or directory"]


@pytest.mark.parametrize(("data", "error"), [
    ({"password_credential": "../etc/shadow"},
     'c.toml: smtp: password_credential: expected a credential name (a file name, no /), '
     'got "../etc/shadow"'),
    ({"password_credential": ""},
     'c.toml: smtp: password_credential: expected a credential name (a file name, no /), '
     'got ""'),
    ({"password_credential": "p", "password_file": "/etc/p"},
     "c.toml: smtp: password_credential: give password_credential alone, without "
     "password_file or password_env"),
])
def test_credential_errors(data: dict[str, Any], error: str) -> None:
    ref, errors = secret(data)
    assert ref is None
    assert errors == [error]
