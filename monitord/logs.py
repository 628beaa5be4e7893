"""structlog set-up: JSON lines (for journald and log shippers) or console lines for people.

Event names are one snake_case vocabulary, documented in docs/logging.md. A console line
leads with what matters at 3 a.m. — time, level, event, then check, status, [phase] and
summary — and puts the rest after it as ``key=value``::

    12:04:31 info    check_state_changed  shop CRITICAL [connect] connection refused  previous=OK
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def configure_logging(fmt: str = "json", level: str = "info", stream: TextIO | None = None) -> None:
    """Configure structlog once per process (and again on reload if the format changed)."""
    renderer: Any
    if fmt == "console":
        renderer = render_console
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


LEADING = ("check", "status", "phase", "summary")


def render_console(_logger: object, _name: str, event: dict[str, Any]) -> str:
    """One line: time, level, event, then check, status, [phase], summary, then key=value."""
    fields = dict(event)
    stamp = str(fields.pop("timestamp", ""))
    level = str(fields.pop("level", ""))
    name = str(fields.pop("event", ""))
    trace = fields.pop("exception", None)
    lead = []
    for key in LEADING:
        value = fields.pop(key, None)
        if value is not None:
            lead.append(f"[{value}]" if key == "phase" else str(value))
    rest = " ".join(f"{key}={_value(value)}" for key, value in fields.items()
                    if value is not None)
    line = f"{stamp[11:19]} {level:<7} {name:<20} {' '.join(lead)}"
    line = f"{line}  {rest}" if rest else line
    return f"{line.rstrip()}\n{trace}" if trace else line.rstrip()


def _value(value: object) -> str:
    text = str(value)
    return f'"{text}"' if not text or any(c.isspace() or c in '"=' for c in text) else text
