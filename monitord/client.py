"""Client commands that talk to the running daemon's API: status, silence, ack.

They answer in a blink: one request with the standard library's ``http.client`` (no aiohttp,
no event loop), and only the config's ``[api]`` table is read, for the address and token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitord.config.durations import parse_duration

if TYPE_CHECKING:
    from http.client import HTTPConnection

EXIT_OK, EXIT_OPEN, EXIT_FAIL = 0, 1, 2
MAX_RESPONSE = 16 * 1024 * 1024
TIMEOUT = 15.0
EXITS = {
    "status": "0 no open incident, 1 an incident is open, 2 the daemon is unreachable or "
              "refused the request",
    "ack": "0 acknowledged, 2 unreachable, unknown incident or refused",
    "silence": "0 done, 2 bad input, unreachable or refused",
}
CLIENT_NOTES = ("The daemon's address is --api, else the config's [api] listen; the token is "
                "$MONITORD_API_TOKEN, else the file named by [api] token_file.\n\n")


class ApiError(Exception):
    pass


class ConfigUnusable(Exception):
    """The config file that should name the API cannot be read (exit 2, naming the file)."""


def api_settings(args: argparse.Namespace, config_path: Path) -> tuple[str, str | None]:
    """The API's base URL and token: flags and environment first, then the config file."""
    url = getattr(args, "api", None)
    token = os.environ.get("MONITORD_API_TOKEN")
    if url and token:
        return url.rstrip("/"), token
    api, problem = _api_section(config_path)
    if problem is not None and not url:  # never ask whatever listens on a default port
        raise ConfigUnusable(problem)
    if not url:
        listen = api.listen if api else None
        url = f"http://{listen}" if listen else "http://127.0.0.1:9300"
    if token is None and api is not None and api.token is not None:
        try:
            token = api.token.read()
        except (OSError, KeyError):
            token = None
    return url.rstrip("/"), token


def _api_section(config_path: Path) -> tuple[Any, str | None]:
    """The config's ``[api]`` table, or None and why the file cannot give it: nothing else
    of the file is needed here."""
    from monitord.config.reader import Problems, Table
    from monitord.config.schema import parse_api

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, f"{config_path}: cannot read the file: {exc.strerror or exc}"
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"{config_path}: invalid TOML: {exc}"
    problems = Problems(str(config_path))
    api = parse_api(Table(problems, "", raw).table("api"))
    if problems:
        return None, str(problems.errors[0])
    return api, None


def call(method: str, url: str, token: str | None, body: Any = None) -> Any:
    """One request to the daemon's API; the decoded JSON answer, or :class:`ApiError`."""
    import http.client  # here, not at the top: building the CLI's parser must stay light

    parts = urlsplit(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn: HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.netloc, timeout=TIMEOUT)
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, path or "/", body=payload, headers=headers)
        resp = conn.getresponse()
        raw = resp.read(MAX_RESPONSE)
    except (OSError, http.client.HTTPException) as exc:
        base = f"{parts.scheme}://{parts.netloc}"
        raise ApiError(f"cannot reach the daemon at {base}: {exc or type(exc).__name__}") \
            from exc
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {"error": raw[:200].decode(errors="replace")}
    if resp.status >= 400:
        message = data.get("error") if isinstance(data, dict) else None
        raise ApiError(f"HTTP {resp.status}: {message or raw[:200].decode(errors='replace')}")
    return data


def _run(method: str, url: str, token: str | None, body: Any = None) -> Any:
    try:
        return call(method, url, token, body), None
    except ApiError as exc:
        return None, str(exc)


def when(iso: str) -> str:
    """An API time as people read it: ``2026-12-01 06:11:30 UTC``, not ISO 8601 with
    microseconds; what does not parse is shown as it came."""
    import re
    from datetime import datetime, timezone

    # Python 3.10's fromisoformat wants 3 or 6 digits of fraction and no "Z".
    text = re.sub(r"\.(\d{1,6})\d*", lambda m: "." + m[1].ljust(6, "0"),
                  iso.replace("Z", "+00:00"), count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return iso
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def who() -> str:
    """The operator's login name, recorded with an acknowledgement or a silence."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no $USER/$LOGNAME and no passwd entry (a container)
        return "cli"


def cmd_status(args: argparse.Namespace, config_path: Path) -> int:
    base, token = api_settings(args, config_path)
    data, error = _run("GET", f"{base}/api/v1/status", token)
    if error:
        print(f"monitord status: {error}", file=sys.stderr)
        return EXIT_FAIL
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for check in data.get("checks", []):
            state = check.get("state") or ""
            since = when(check["since"]) if check.get("since") else ""
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
    body = {"comment": args.comment or "", "by": who()}
    _, error = _run("POST", f"{base}/api/v1/incidents/{args.incident}/ack", token, body)
    if error:
        print(f"monitord ack: {error}", file=sys.stderr)
        return EXIT_FAIL
    print(f"acknowledged {args.incident}")
    return EXIT_OK


def cmd_silence(args: argparse.Namespace, config_path: Path) -> int:
    base, token = api_settings(args, config_path)
    if args.action == "list":
        data, error = _run("GET", f"{base}/api/v1/silences", token)
        if error is None:
            for s in data.get("silences", []):
                state = "active" if s.get("active") else "inactive"
                print(f"{s['id']}  {state:<8} until {when(s['ends_at'])}  {' '.join(s['matchers'])}"
                      f"  — {s['created_by']}: {s['comment']}")
    elif args.action == "expire":
        _, error = _run("DELETE", f"{base}/api/v1/silences/{args.id}", token)
        if error is None:
            print(f"expired {args.id}")
    else:
        body: dict[str, Any] = {"matchers": args.match, "comment": args.comment,
                                "created_by": who()}
        if args.duration:
            try:
                parse_duration(args.duration)
            except ValueError as exc:
                print(f"monitord silence add: --for: {exc}", file=sys.stderr)
                return EXIT_FAIL
            body["duration"] = args.duration
        else:
            body["ends_at"] = args.until
        data, error = _run("POST", f"{base}/api/v1/silences", token, body)
        if error is None:
            print(f"silence {data['id']} added")
    if error:
        print(f"monitord silence {args.action}: {error}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def add_parsers(sub: Any, common: Any) -> None:
    """Add ``status``, ``ack`` and ``silence`` to the CLI; ``common`` adds -c."""

    def client(name: str, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = common(sub.add_parser(
            name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
            epilog=CLIENT_NOTES + f"exit status: {EXITS[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter, **kw))
        return parser

    def api(p: argparse.ArgumentParser) -> None:
        p.add_argument("--api", metavar="URL",
                       help="the daemon's API, e.g. http://127.0.0.1:9300 (default: from "
                            "the config's [api] listen)")

    status = client("status", "show every check's state and the open incidents, from the "
                              "running daemon")
    api(status)
    status.add_argument("--json", action="store_true",
                        help="print the API's answer (GET /api/v1/status) as JSON")
    status.set_defaults(client=cmd_status)

    ack = client("ack", "acknowledge an open incident: no more repeats until it recovers")
    ack.add_argument("incident", metavar="INCIDENT",
                     help="the incident id, as shown by 'monitord status'")
    ack.add_argument("--comment", default="", metavar="TEXT",
                     help="why, or who is on it (shown with the incident)")
    api(ack)
    ack.set_defaults(client=cmd_ack)

    silence = client("silence", "add, list or expire silences on the running daemon")
    actions = silence.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="silence the alerts whose labels match",
                             description="Silence the alerts whose labels match every --match.")
    add.add_argument("--match", action="append", required=True, metavar="K=V",
                     help="a matcher like service=shop or check=~www-.*; repeatable")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--for", dest="duration", metavar="DUR", help='how long, e.g. "2h"')
    when.add_argument("--until", metavar="TIME", help="ISO 8601 time with an offset")
    add.add_argument("--comment", required=True, metavar="TEXT",
                     help="why (shown with the silence)")
    listing = actions.add_parser("list", help="list the silences",
                                 description="List the silences, active or not.")
    expire = actions.add_parser("expire", help="end a silence now",
                                description="End a silence now.")
    expire.add_argument("id", metavar="ID", help="the silence id, as shown by 'silence list'")
    for action in (add, listing, expire):  # -c also after the action: silence add -c FILE …
        api(action)
        action.add_argument("-c", "--config", default=argparse.SUPPRESS, metavar="FILE",
                            help="config file (for the API address and token)")
    silence.set_defaults(client=cmd_silence)
