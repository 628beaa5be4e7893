"""read_secret: the one way a running daemon reads a secret (files off the event loop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config.reader import SecretRef
from monitord.config.secrets import read_secret


async def test_reads_a_file_without_its_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("s3cret\r\n", encoding="utf-8")
    assert await read_secret(SecretRef(file=str(path))) == "s3cret"
    path.write_text("rotated\n", encoding="utf-8")  # read at each use: rotation needs no reload
    assert await read_secret(SecretRef(file=str(path))) == "rotated"


async def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITORD_TEST_SECRET", "from-env")
    assert await read_secret(SecretRef(env="MONITORD_TEST_SECRET")) == "from-env"


async def test_unreadable_secrets_raise_as_secretref_read_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError):
        await read_secret(SecretRef(file=str(tmp_path / "missing")))
    monkeypatch.delenv("MONITORD_TEST_SECRET", raising=False)
    with pytest.raises(KeyError):
        await read_secret(SecretRef(env="MONITORD_TEST_SECRET"))
