"""Redaction of what evidence shows: URL credentials, cookies, tokens, passwords.

Evidence travels in notifications (email, chat, PagerDuty): nothing that grants access may
ride along. The rules are deliberately broad — a redacted harmless value costs little.
"""

from __future__ import annotations

import re

from yarl import URL

MASK = "[redacted]"

# key=value / "key": "value" pairs whose key says it is a secret
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (["']?(?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|auth(?:orization)?|session
        |sid|cookie|csrf|private[_-]?key|access[_-]?key|signature|sig)["']?
     \s*[:=]\s*["']?)
    (?!bearer\b|basic\b|\[redacted)([^"'&\s,;<>]+)
    """,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_LONG_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{32,}\b")  # API keys, JWT parts, session ids


def redact_url(url: str) -> str:
    """The URL with any user:password and secret-looking query values masked."""
    try:
        parsed = URL(url)
    except ValueError:
        return redact_text(url)
    if parsed.user is not None or parsed.password is not None:
        parsed = parsed.with_user(MASK if parsed.user else None).with_password(None)
    if parsed.query_string:
        query = {k: (MASK if _SECRET_PAIR.match(f"{k}=x") else v)
                 for k, v in parsed.query.items()}
        parsed = parsed.with_query(query)
    return str(parsed).replace("%5Bredacted%5D", MASK)


def redact_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _SECRET_PAIR.sub(lambda m: m[1] + MASK, text)
    return _LONG_TOKEN.sub(MASK, text)
