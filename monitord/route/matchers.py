"""Label matchers: ``NAME=VALUE``, ``NAME!=VALUE``, ``NAME=~REGEX``, ``NAME!~REGEX``.

Used by routes, silences and maintenance windows. The semantics are Alertmanager's: regular
expressions are anchored at both ends (``severity=~crit`` does not match ``critical``), and a
label the alert does not carry is the empty string, so ``team!=ops`` matches an alert without
``team`` and ``team=~.+`` does not.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitord.config.schema import LABEL_NAME

# Operators are tried longest first so "=~" is not read as "=" followed by a value "~…".
_SHAPE = re.compile(r"\s*([^=!~\s]*)\s*(=~|!~|!=|=)(.*)", re.DOTALL)
# Matchers may also arrive through the API: a bound keeps one from being a denial of service.
MAX_MATCHER_LENGTH = 1024


class Op(str, enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label; build it with :meth:`parse`."""

    name: str
    op: Op
    value: str
    pattern: re.Pattern[str] | None = None  # compiled once for the regex operators

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Read ``"severity=~critical|warning"``; raises ValueError with a readable message."""
        if len(text) > MAX_MATCHER_LENGTH:
            raise ValueError(f"matcher longer than {MAX_MATCHER_LENGTH} characters")
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            raise ValueError(f'expected a matcher like "severity=critical" (operators =, !=, '
                             f'=~, !~), got "{text}"')
        name, op_text, raw_value = shape.groups()
        if not LABEL_NAME.fullmatch(name):
            what = f'label name "{name}"' if name else "an empty label name"
            raise ValueError(f'{what} in matcher "{text}": expected letters, digits and _, '
                             f"not starting with a digit")
        value = _unquote(raw_value.strip(), text)
        op = Op(op_text)
        pattern = None
        if op in (Op.REGEX, Op.NOT_REGEX):
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f'invalid regular expression "{value}" in matcher '
                                 f'"{text}": {exc}') from None
        return cls(name, op, value, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is Op.EQUAL:
            return actual == self.value
        if self.op is Op.NOT_EQUAL:
            return actual != self.value
        assert self.pattern is not None  # set by parse for both regex operators
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op is Op.REGEX else not found

    def __str__(self) -> str:
        plain = self.value == self.value.strip() and '"' not in self.value[:1]
        value = self.value if plain else json.dumps(self.value)
        return f"{self.name}{self.op.value}{value}"


def _unquote(value: str, text: str) -> str:
    """A value may be written in double quotes (JSON escapes) to keep spaces at its ends."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            unquoted = json.loads(value)
        except ValueError:
            raise ValueError(f'badly quoted value in matcher "{text}"') from None
        if isinstance(unquoted, str):
            return unquoted
    return value


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(Matcher.parse(text) for text in texts)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches every alert)."""
    return all(m.matches(labels) for m in matchers)


def first_mismatch(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> Matcher | None:
    """The first matcher that does not match, for explanations; None when all match."""
    return next((m for m in matchers if not m.matches(labels)), None)


def format_labels(labels: Mapping[str, str]) -> str:
    """``{check="shop-fr", severity="critical"}``, sorted, as Prometheus prints label sets."""
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    return "{" + inner + "}"
