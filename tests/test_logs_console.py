"""The console log line (``log_format = "console"``, the demo): values read as in the JSON log."""

from __future__ import annotations

from monitord.logs import render_console


def line(**fields: object) -> str:
    return render_console(None, "info", {"timestamp": "2026-12-01T06:11:32.1Z",
                                         "level": "info", **fields})


def test_leading_fields_then_key_values() -> None:
    text = line(event="alert_event", check="web", status="CRITICAL", phase="connect",
                summary="refused", incident="web-1")
    assert text == "06:11:32 info    alert_event          web CRITICAL [connect] refused  " \
                   "incident=web-1"


def test_booleans_and_lists_are_spelt_as_json() -> None:
    text = line(event="alert_event", degraded=False, flapping=True, changes=[],
                locations=["paris", "london"])
    assert "degraded=false" in text
    assert "flapping=true" in text
    assert "changes=[]" in text
    assert 'locations=["paris","london"]' in text


def test_values_with_spaces_are_quoted() -> None:
    text = line(event="delivery_retry_scheduled", reason="Connect call failed", items=["a b"])
    assert 'reason="Connect call failed"' in text
    assert """items='["a b"]'""" in text
