"""Which RDAP server speaks for which TLD: the IANA bootstrap registry (RFC 9224).

monitord ships a snapshot as package data (``monitord/data/rdap_dns.json``). Registries move
their RDAP services now and then, so the snapshot ages: refresh it where the Internet is
reachable, explicitly (nothing is fetched behind the operator's back, and never in tests)::

    python -m monitord.checks.rdap_bootstrap refresh /var/lib/monitord/rdap_dns.json

and point the checks at the refreshed copy with ``rdap_bootstrap = "/var/lib/monitord/..."``
(in ``[defaults]`` or a ``[[domain]]`` block). A refresh validates the download before it
replaces the file, so a broken download never leaves a broken file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

IANA_URL = "https://data.iana.org/rdap/dns.json"
MAX_SIZE = 4 * 1024 * 1024  # the real file is ~100 KiB


@dataclass(frozen=True, slots=True)
class Bootstrap:
    services: Mapping[str, str]  # TLD (or suffix) -> base URL ending in "/"
    publication: str

    def url_for(self, domain: str) -> str | None:
        """The base URL serving ``domain``: the longest listed suffix wins (RFC 9224 §4)."""
        labels = domain.lower().rstrip(".").split(".")
        for start in range(1, len(labels)):
            url = self.services.get(".".join(labels[start:]))
            if url is not None:
                return url
        return None


def parse(data: bytes | str) -> Bootstrap:
    """A bootstrap file's content; raises ValueError when it is not one."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, list):
        raise ValueError('expected an object with a "services" array')
    found: dict[str, str] = {}
    for entry in services:
        if (not isinstance(entry, list) or len(entry) != 2
                or not all(isinstance(part, list) for part in entry)):
            raise ValueError(f"malformed service entry {entry!r:.80}")
        suffixes, urls = entry
        url = _best_url([u for u in urls if isinstance(u, str)])
        if url is None:
            continue
        for suffix in suffixes:
            if isinstance(suffix, str):
                found[suffix.lower()] = url
    if not found:
        raise ValueError("no usable service in the file")
    return Bootstrap(found, str(doc.get("publication", "")))


def _best_url(urls: Sequence[str]) -> str | None:
    """HTTPS before HTTP (RFC 9224 §3); always ending in "/"."""
    ordered = sorted((u for u in urls if u.startswith(("https://", "http://"))),
                     key=lambda u: not u.startswith("https://"))
    if not ordered:
        return None
    return ordered[0] if ordered[0].endswith("/") else ordered[0] + "/"


def packaged() -> Bootstrap:
    return _packaged()


@lru_cache(maxsize=1)
def _packaged() -> Bootstrap:
    return parse(resources.files("monitord").joinpath("data/rdap_dns.json").read_bytes())


def load(path: str | None) -> Bootstrap:
    """The bootstrap at ``path`` (None: the packaged snapshot); raises ValueError/OSError."""
    if path is None:
        return packaged()
    stat = os.stat(path)
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int, size: int) -> Bootstrap:
    # Keyed on mtime and size so a refreshed file is read again on the next config load.
    if size > MAX_SIZE:
        raise ValueError(f"{path}: larger than {MAX_SIZE} bytes")
    return parse(Path(path).read_bytes())


async def refresh(path: str | Path, url: str = IANA_URL, timeout: float = 30.0) -> Bootstrap:
    """Download the bootstrap registry, validate it, then atomically replace ``path``."""
    import aiohttp

    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), trust_env=False
    ) as session, session.get(url) as response:
        response.raise_for_status()
        data = await response.content.read(MAX_SIZE + 1)
    if len(data) > MAX_SIZE:
        raise ValueError(f"{url}: larger than {MAX_SIZE} bytes")
    bootstrap = parse(data)
    target = Path(path)
    scratch = target.with_name(target.name + ".new")
    scratch.write_bytes(data)
    os.replace(scratch, target)
    return bootstrap


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitord.checks.rdap_bootstrap",
                                     description="Refresh the RDAP bootstrap file from IANA.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("refresh", help="download, validate and write the file")
    command.add_argument("file", help="where to write it (then set rdap_bootstrap = FILE)")
    command.add_argument("--url", default=IANA_URL)
    args = parser.parse_args(argv)
    import asyncio  # the refresh tool only: reading the file at config load needs no loop

    try:
        bootstrap = asyncio.run(refresh(args.file, args.url))
    except (OSError, ValueError, asyncio.TimeoutError) as exc:
        print(f"refresh failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # aiohttp.ClientError and friends: report, do not trace
        print(f"refresh failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: {len(bootstrap.services)} suffixes, published {bootstrap.publication}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
