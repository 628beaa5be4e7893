"""Sign test zones with ldns (ldns-keygen, ldns-signzone) and explicit validity dates.

Keys are ECDSA P-256 (algorithm 13): fast to make, and what most signed zones use today.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class SignedZone:
    text: str  # the signed zone file, with an $ORIGIN line
    ds: str  # the DS record of the key-signing key, as a zone file line


def make_keys(directory: Path, origin: str) -> tuple[str, str]:
    """(KSK base name, ZSK base name) made in ``directory``; the KSK has a .ds file."""
    directory.mkdir(parents=True, exist_ok=True)
    origin = origin.rstrip(".")
    ksk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin], directory)
    zsk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", origin], directory)
    return ksk.strip(), zsk.strip()


def ds_of(directory: Path, ksk: str) -> str:
    return (directory / f"{ksk}.ds").read_text().strip()


def sign(directory: Path, origin: str, text: str, inception: datetime,
         expiration: datetime, keys: tuple[str, str] | None = None) -> SignedZone:
    """Sign ``text`` with fresh keys (or ``keys``) so every RRSIG runs inception..expiration."""
    origin = origin.rstrip(".")
    ksk, zsk = keys or make_keys(directory, origin)
    source = directory / f"{origin}.zone"
    source.write_text(text)
    _run(["ldns-signzone", "-i", _stamp(inception), "-e", _stamp(expiration), str(source),
          ksk, zsk], directory)
    signed = (directory / f"{origin}.zone.signed").read_text()
    return SignedZone(text=f"$ORIGIN {origin}.\n{signed}", ds=ds_of(directory, ksk))


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def _run(command: list[str], directory: Path) -> str:
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=60,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr}")
    return done.stdout
