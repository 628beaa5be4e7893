"""Reading secrets: the one way on the event loop, and the start-up check that each can be read.

A secret is read when it is used (so a rotated password file is picked up without a reload),
through :func:`read_secret`, which reads a file off the event loop: a blocking ``open()`` per
notification or per poll would stall every check behind a slow disk.

``check-config`` validates a file on any machine (the secrets may live only on the server);
``run`` calls :func:`unreadable_secrets` first, so a missing password file is a clear start-up
error (exit 2) instead of a failure at 3 a.m. when the first alert is sent.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any

from monitord.config.reader import SecretRef

# scheme://user:password@ — the password is whatever runs up to the last "@" before the
# host part ends ("/", "?", "#", blank or a quote); the user name is kept, it helps debugging.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/?#@\s:\"']*):[^/?#\s\"']*@")


def redact_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced: ``http://user:***@host/``.

    Used on everything that may show a URL: check summaries (redirects, errors), the API,
    the status page, ``probe`` output, the database and every log line.
    """
    if "@" not in text:
        return text  # the common case, cheap
    return _USERINFO.sub(r"\1:***@", text)


async def read_secret(ref: SecretRef) -> str:
    """The secret's value, stripped of its trailing newline; raises OSError (the file) or
    KeyError (the environment variable is not set), as :meth:`SecretRef.read` does."""
    if ref.file is None:
        return ref.read()  # the environment: no I/O, no thread
    import asyncio  # here: reading a config (which redacts URLs) must not load asyncio

    return await asyncio.to_thread(ref.read)


def _walk(value: Any, path: str, seen: set[int]) -> Iterator[tuple[str, SecretRef]]:
    if isinstance(value, SecretRef):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        if id(value) in seen:
            return
        seen.add(id(value))
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name), f"{path}.{f.name}" if path else f.name, seen)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            name = getattr(item, "name", None)
            label = f'[{index}] "{name}"' if isinstance(name, str) else f"[{index}]"
            yield from _walk(item, f"{path}{label}", seen)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}", seen)


def secrets_of(config: Any) -> list[tuple[str, SecretRef]]:
    return list(_walk(config, "", set()))


def unreadable_secrets(config: Any) -> list[str]:
    """One message per secret that cannot be read; never includes a secret's value."""
    problems = []
    for path, ref in secrets_of(config):
        try:
            value = ref.read()
        except OSError as exc:
            problems.append(f"{path}: cannot read {ref.describe()}: {exc.strerror or exc}")
            continue
        except KeyError:
            problems.append(f"{path}: {ref.describe()} is not set")
            continue
        if not value:
            problems.append(f"{path}: {ref.describe()} is empty")
    return problems
