"""Client commands that talk to the running daemon's API: status, silence, ack."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from monitord.config.durations import parse_duration
from monitord.config.reader import ConfigInvalid
from monitord.configfile import load_config

EXIT_OK, EXIT_OPEN, EXIT_FAIL = 0, 1, 2
MAX_RESPONSE = 16 * 1024 * 1024


class ApiError(Exception):
    pass


def api_settings(args: argparse.Namespace, config_path: Path) -> tuple[str, str | None]:
    """The API's base URL and token: flags and environment first, then the config file."""
    url = getattr(args, "api", None)
    token = os.environ.get("MONITORD_API_TOKEN")
    if url and token:
        return url.rstrip("/"), token
    try:
        config = load_config(config_path)
    except ConfigInvalid:
        config = None
    if not url:
        listen = config.api.listen if config else None
        url = f"http://{listen}" if listen else "http://127.0.0.1:9300"
    if token is None and config is not None and config.api.token is not None:
        try:
            token = config.api.token.read()
        except (OSError, KeyError):
            token = None
    return url.rstrip("/"), token


async def call(method: str, url: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
                    session.request(method, url, json=body, headers=headers) as resp):
            raw = await resp.content.read(MAX_RESPONSE)
            try:
                data = json.loads(raw) if raw else {}
            except ValueError:
                data = {"error": raw[:200].decode(errors="replace")}
            if resp.status >= 400:
                message = data.get("error") if isinstance(data, dict) else None
                raise ApiError(f"HTTP {resp.status}: {message or raw[:200].decode()}")
            return data
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise ApiError(f"cannot reach the daemon at {url}: {exc or type(exc).__name__}") from exc


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro), None
    except ApiError as exc:
        return None, str(exc)


def cmd_status(args: argparse.Namespace, config_path: Path) -> int:
    base, token = api_settings(args, config_path)
    data, error = _run(call("GET", f"{base}/api/v1/status", token))
    if error:
        print(f"monitord status: {error}", file=sys.stderr)
        return EXIT_FAIL
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for check in data.get("checks", []):
            state = check.get("state") or ""
            since = check.get("since") or ""
            print(f"{check['status']:<9} {check['check']:<40} {state:<11} {since}")
            if check.get("location_table"):  # where it fails, from where it works
                print(f"          {check['location_table']}")
        incidents = data.get("incidents", [])
        print(f"\n{len(incidents)} open incident(s)")
        for inc in incidents:
            by = inc.get("acknowledged_by")
            ack = f" (acknowledged by {by})" if by else ""
            print(f"  {inc['id']}: {inc['status']} {inc['summary']}{ack}")
    return EXIT_OPEN if data.get("incidents") else EXIT_OK


def cmd_ack(args: argparse.Namespace, config_path: Path) -> int:
    base, token = api_settings(args, config_path)
    body = {"comment": args.comment or "", "by": os.environ.get("USER", "cli")}
    _, error = _run(call("POST", f"{base}/api/v1/incidents/{args.incident}/ack", token, body))
    if error:
        print(f"monitord ack: {error}", file=sys.stderr)
        return EXIT_FAIL
    print(f"acknowledged {args.incident}")
    return EXIT_OK


def cmd_silence(args: argparse.Namespace, config_path: Path) -> int:
    base, token = api_settings(args, config_path)
    if args.action == "list":
        data, error = _run(call("GET", f"{base}/api/v1/silences", token))
        if error is None:
            for s in data.get("silences", []):
                state = "active" if s.get("active") else "inactive"
                print(f"{s['id']}  {state:<8} until {s['ends_at']}  {' '.join(s['matchers'])}"
                      f"  — {s['created_by']}: {s['comment']}")
    elif args.action == "expire":
        _, error = _run(call("DELETE", f"{base}/api/v1/silences/{args.id}", token))
        if error is None:
            print(f"expired {args.id}")
    else:
        body: dict[str, Any] = {"matchers": args.match, "comment": args.comment,
                                "created_by": os.environ.get("USER", "cli")}
        if args.duration:
            try:
                parse_duration(args.duration)
            except ValueError as exc:
                print(f"monitord silence add: --for: {exc}", file=sys.stderr)
                return EXIT_FAIL
            body["duration"] = args.duration
        else:
            body["ends_at"] = args.until
        data, error = _run(call("POST", f"{base}/api/v1/silences", token, body))
        if error is None:
            print(f"silence {data['id']} added")
    if error:
        print(f"monitord silence {args.action}: {error}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def add_parsers(sub: Any, common: Any) -> None:
    """Add ``status``, ``ack`` and ``silence`` to the CLI; ``common`` adds -c."""
    status = common(sub.add_parser("status", help="state of every check and open incident"))
    status.add_argument("--api", help="the daemon's API URL (default: from [api] listen)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(client=cmd_status)

    ack = common(sub.add_parser("ack", help="acknowledge an open incident"))
    ack.add_argument("incident")
    ack.add_argument("--comment", default="")
    ack.add_argument("--api")
    ack.set_defaults(client=cmd_ack)

    silence = common(sub.add_parser("silence", help="manage silences on the running daemon"))
    actions = silence.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="silence alerts matching labels")
    add.add_argument("--match", action="append", required=True, metavar="K=V",
                     help="a matcher like service=shop or check=~www-.*; repeatable")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--for", dest="duration", help='how long, e.g. "2h"')
    when.add_argument("--until", help="ISO 8601 time with offset")
    add.add_argument("--comment", required=True)
    add.add_argument("--api")
    listing = actions.add_parser("list", help="list silences")
    listing.add_argument("--api")
    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("id")
    expire.add_argument("--api")
    for action in (add, listing, expire):  # -c also after the action: silence add -c FILE …
        action.add_argument("-c", "--config", default=argparse.SUPPRESS,
                            help="config file (for the API address and token)")
    silence.set_defaults(client=cmd_silence)
