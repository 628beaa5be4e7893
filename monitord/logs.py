"""structlog set-up: JSON lines (for journald and log shippers) or console lines for people.

Event names are one snake_case vocabulary, documented in docs/logging.md. A console line
leads with what matters at 3 a.m. — time, level, event, then check, status, [phase] and
summary — and puts the rest after it as ``key=value``::

    12:04:31 info    check_state_changed  shop CRITICAL [connect] connection refused  previous=OK

Every JSON line is one line: exceptions become a structured ``exception`` field, and the
standard library's loggers (aiohttp's, asyncio's) are forwarded through the same renderer,
so a library's traceback never spills over many lines. ``scrub`` runs on each rendered line
(the daemon passes the URL password redaction), so no secret leaks through a log field.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


class _Forward(logging.Handler):
    """Standard-library records (aiohttp, asyncio) as structlog lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage()}
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                fields["error"] = f"{type(error).__name__}: {error}"
            structlog.get_logger(record.name).log(record.levelno, "library_log", **fields)
        except Exception:  # a logging failure must never raise into the caller
            self.handleError(record)


def configure_logging(fmt: str = "json", level: str = "info", stream: TextIO | None = None,
                      scrub: Callable[[str], str] | None = None) -> None:
    """Configure structlog once per process (and again on reload if the format changed)."""
    renderer: Any
    if fmt == "console":
        renderer = render_console
        exceptions: Any = structlog.processors.format_exc_info
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
        # Structured and on one line; never the frames' locals (they may hold secrets).
        exceptions = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False))
    final = renderer
    if scrub is not None:
        def final(logger: Any, name: str, event: Any) -> Any:
            return scrub(renderer(logger, name, event))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            exceptions,
            structlog.processors.UnicodeDecoder(),
            final,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _Forward)]
    root.addHandler(_Forward())
    root.setLevel(logging.WARNING)


class Throttle:
    """At most ``burst`` log lines per ``window`` seconds for one noisy event (refused
    requests): a flood of bad requests cannot fill the disk through the log. The first line
    after a quiet window says how many were left out."""

    def __init__(self, burst: int = 10, window: float = 60.0,
                 monotonic: Callable[[], float] | None = None) -> None:
        import time

        self.burst, self.window = burst, window
        self._monotonic = monotonic or time.monotonic
        self._window_start = -window
        self._count = 0
        self.suppressed = 0

    def allow(self) -> int | None:
        """None: leave this line out; else the number left out since the last line logged."""
        now = self._monotonic()
        if now - self._window_start >= self.window:
            self._window_start, self._count = now, 0
        self._count += 1
        if self._count > self.burst:
            self.suppressed += 1
            return None
        left_out, self.suppressed = self.suppressed, 0
        return left_out


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
    """A field as the JSON log spells it (``true``, ``["a", "b"]``), not as Python does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        import json

        text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
        return text if not any(c.isspace() for c in text) else f"'{text}'"
    text = str(value)
    return f'"{text}"' if not text or any(c.isspace() or c in '"=' for c in text) else text
