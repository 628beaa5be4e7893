"""Matchers: the four operators, anchoring, missing labels, parse errors."""

from __future__ import annotations

import pytest

from monitord.route.matchers import Matcher, Op, first_mismatch, matches_all, parse_matchers

LABELS = {"severity": "critical", "service": "shop", "check": "shop-fr", "empty": ""}


@pytest.mark.parametrize(("text", "expected"), [
    ("severity=critical", True),
    ("severity=crit", False),
    ("severity!=critical", False),
    ("severity!=warning", True),
    ("severity=~critical|warning", True),
    ("severity=~crit", False),           # anchored at the end
    ("severity=~ritical", False),        # anchored at the start
    ("severity=~crit.*", True),
    ("severity=~(?i)CRITICAL", True),
    ("severity!~crit", True),            # "crit" alone does not match "critical"
    ("severity!~critical|warning", False),
    ("check=~shop-(fr|uk)", True),
    ("check=~shop-(de|uk)", False),
    # A missing label is the empty string, as in Alertmanager.
    ("team=", True),
    ("team!=ops", True),
    ("team=ops", False),
    ("team=~.*", True),
    ("team=~.+", False),
    ("team!~.+", True),
    ("empty=", True),
    ('service="shop"', True),            # a quoted value
    ('service = "shop"', True),
    ("service=shop ", True),             # unquoted values are trimmed
])
def test_matches(text: str, expected: bool) -> None:
    assert Matcher.parse(text).matches(LABELS) is expected


def test_quoted_values_keep_spaces_and_escapes() -> None:
    matcher = Matcher.parse(r'summary=" disk \"sda\" full"')
    assert matcher.value == ' disk "sda" full'
    assert matcher.matches({"summary": ' disk "sda" full'})
    assert Matcher.parse(str(matcher)) == matcher


@pytest.mark.parametrize(("text", "name", "op", "value"), [
    ("a=b", "a", Op.EQUAL, "b"),
    ("a!=b", "a", Op.NOT_EQUAL, "b"),
    ("a=~b|c", "a", Op.REGEX, "b|c"),
    ("a!~b", "a", Op.NOT_REGEX, "b"),
    ("a==b", "a", Op.EQUAL, "=b"),       # the first operator wins; the rest is the value
    ("a=b=c", "a", Op.EQUAL, "b=c"),
])
def test_parse(text: str, name: str, op: Op, value: str) -> None:
    matcher = Matcher.parse(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)


@pytest.mark.parametrize(("text", "message"), [
    ("severity", 'expected a matcher like "severity=critical"'),
    ("=critical", "an empty label name"),
    ("1severity=critical", 'label name "1severity"'),
    ("seve rity=critical", "expected a matcher"),
    ("severity=~(critical", 'invalid regular expression "(critical"'),
    ('severity="crit', None),  # an unbalanced quote is an ordinary character
    ("a=" + "x" * 2000, "longer than 1024"),
])
def test_parse_errors(text: str, message: str | None) -> None:
    if message is None:
        assert Matcher.parse(text).value == '"crit'
        return
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is checked below
        Matcher.parse(text)
    assert message in str(caught.value)


def test_lists_are_anded_and_explain_the_first_failure() -> None:
    matchers = parse_matchers(["service=shop", "severity=warning", "check=~shop-.*"])
    assert not matches_all(matchers, LABELS)
    assert str(first_mismatch(matchers, LABELS)) == "severity=warning"
    assert matches_all((), LABELS)  # no matcher: every alert
    assert first_mismatch(matchers[:1], LABELS) is None
