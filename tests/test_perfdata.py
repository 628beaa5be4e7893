"""Nagios plugin output per the Monitoring Plugins guidelines: summary, long output, perfdata."""

from __future__ import annotations

import math

import pytest

from monitord.checks._perfdata import PerfDatum, Range, as_metrics, parse_perfdata, split_output

INF = math.inf


@pytest.mark.parametrize(("text", "expected"), [
    ("time=0.002s;;;0.000000;10.000000",
     [PerfDatum("time", 0.002, "s", None, None, 0.0, 10.0)]),
    ("rta=1.5ms;200;500;0", [PerfDatum("rta", 0.0015, "s", Range(0, 0.2), Range(0, 0.5), 0.0)]),
    ("pl=0%;20;60;0;100", [PerfDatum("pl", 0.0, "%", Range(0, 20), Range(0, 60), 0.0, 100.0)]),
    ("'C:\\ used space'=10KB;@5:8;~:9",
     [PerfDatum("C:\\ used space", 10240.0, "B", Range(5120, 8192, inside=True),
                Range(-INF, 9216))]),
    ("'it''s'=3c;10:;5:20", [PerfDatum("it's", 3.0, "c", Range(10, INF), Range(5, 20))]),
    ("users=U;5;10 load1=0.5", [PerfDatum("load1", 0.5, "")]),
    ("a=1 garbage b=2", [PerfDatum("a", 1.0, ""), PerfDatum("b", 2.0, "")]),
    ("temp=-4.5e1;x;;abc", [PerfDatum("temp", -45.0, "")]),
    ("x=1e999 y=-1e999 z=nan big=1e308TB ok=2", [PerfDatum("ok", 2.0, "")]),
    ("", []),
])
def test_parse_perfdata(text: str, expected: list[PerfDatum]) -> None:
    assert list(parse_perfdata(text)) == expected


def test_split_output_follows_the_guidelines() -> None:
    out = split_output("DISK OK - free space | /=2643MB\nline 1\nline 2 | /boot=68MB\n"
                       "/home=1MB\n")
    assert out.summary == "DISK OK - free space"
    assert out.long_output == ("line 1", "line 2")
    assert [d.label for d in out.perfdata] == ["/", "/boot", "/home"]


def test_split_output_without_perfdata_keeps_every_line() -> None:
    out = split_output("OK\nno | here? yes: after the first bar all is perfdata\nlast\n")
    assert out.summary == "OK"
    assert out.long_output == ("no",)
    assert split_output("").summary == ""


def test_metrics_name_thresholds_by_label() -> None:
    data = (PerfDatum("x", 1.0, "", Range(0, 5), Range(2, 9), 0.0, 10.0),
            PerfDatum("y", 2.0, "", Range(1, 3, inside=True), Range(4, INF)))
    assert as_metrics(data) == {"x": 1.0, "x.warn": 5.0, "x.crit": 9.0, "x.crit_low": 2.0,
                                "x.min": 0.0, "x.max": 10.0, "y": 2.0, "y.crit_low": 4.0}
