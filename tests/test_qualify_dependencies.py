"""Dependencies: a failing parent holds its children's problems and names them."""

from __future__ import annotations

import pytest

from monitord.model import EventKind
from monitord.qualify import QualifySettings
from monitord.qualify.dependencies import Dependencies, find_cycle
from tests.support.qualify import Driver, check, letters


def router_and_children(n: int = 3, parent_confirm: int = 2) -> Driver:
    checks = [check("router", confirm=parent_confirm)]
    checks += [check(f"web{i}", depends_on=("router",)) for i in range(n)]
    return Driver(checks, QualifySettings(repeat_interval=3600.0))


def test_children_failing_with_their_parent_give_one_alert() -> None:
    d = router_and_children()
    assert d.feed("router", "C") == []  # confirming: children are held already
    for i in range(3):
        assert d.feed(f"web{i}", "C", step=1) == []
    [problem] = d.feed("router", "C", step=1)
    assert problem.kind is EventKind.PROBLEM
    assert problem.impacted == ("web0", "web1", "web2")
    assert "impacts 3 dependent checks: web0, web1, web2" in problem.diagnosis
    view = d.q.snapshot(d.now)["web1"]
    assert view.incident is not None
    assert view.incident.caused_by == ("router",)
    assert view.incident.held == "caused by router"
    assert not view.incident.notified
    # repeats: the parent's only, still listing its children
    assert [(e.check, e.impacted) for e in d.tick(3600)] == [
        ("router", ("web0", "web1", "web2"))]


def test_children_still_failing_when_the_parent_recovers_are_notified_then() -> None:
    d = router_and_children()
    d.run("router", "C C")
    d.feed("web0", "C")
    d.feed("web1", "C")
    d.feed("web1", "O")  # recovered while held: nothing to say
    events = d.feed("router", "O")
    assert sorted((e.check, e.kind.value) for e in events) == [
        ("router", "recovery"), ("web0", "problem")]
    assert next(e for e in events if e.check == "web0").caused_by == ()


def test_a_parent_that_only_confirms_releases_held_children() -> None:
    d = router_and_children(parent_confirm=3)
    d.feed("router", "C")
    assert d.feed("web0", "C") == []
    [released] = d.feed("router", "O")
    assert (released.check, released.kind) == ("web0", EventKind.PROBLEM)


def test_transitive_chain() -> None:
    d = Driver([check("core"), check("router", depends_on=("core",)),
                check("web", depends_on=("router",))])
    assert d.run("core", "C") == ["P"]
    assert d.run("router", "C") == ["."]
    assert d.run("web", "C") == ["."]
    web = d.q.snapshot(d.now)["web"].incident
    assert web is not None
    assert web.caused_by == ("router", "core")
    [core_repeat] = d.tick(4 * 3600)
    assert core_repeat.impacted == ("router", "web")
    events = d.feed("core", "O")  # router still fails: notified now; web stays held by it
    assert [(e.check, e.kind.value) for e in events] == [("core", "recovery"),
                                                         ("router", "problem")]
    [router_event] = events[1:]
    assert router_event.impacted == ("web",)
    assert [(e.check, e.kind.value) for e in d.feed("router", "O")] == [
        ("router", "recovery"), ("web", "problem")]


def test_notified_child_keeps_its_recovery_when_the_parent_fails_later() -> None:
    d = router_and_children(parent_confirm=1)
    assert d.run("web0", "C") == ["P"]
    [parent] = d.feed("router", "C")
    assert parent.impacted == ("web0",)
    assert [e.check for e in d.tick(3600)] == ["router"]  # the child's repeats are held
    assert letters(d.feed("web0", "O")) == "R"  # but its recovery goes out


def test_multiple_parents_any_failing_one_holds() -> None:
    d = Driver([check("a"), check("b"), check("web", depends_on=("a", "b"))])
    d.feed("b", "C")
    assert d.feed("web", "C") == []
    web = d.q.snapshot(d.now)["web"].incident
    assert web is not None
    assert web.caused_by == ("b",)


@pytest.mark.parametrize(("parents", "cycle"), [
    ({"a": [], "b": ["a"]}, None),
    ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
    ({"a": ["a"]}, ["a", "a"]),
    ({"a": ["b"], "b": ["c"], "c": ["b"], "d": []}, ["b", "c", "b"]),
    ({"a": ["missing"]}, None),
])
def test_find_cycle(parents: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(parents) == cycle


def test_graph_ignores_unknown_and_self_parents() -> None:
    deps = Dependencies({"a": ["a", "ghost"], "b": ["a", "a"]})
    assert deps.parents("a") == ()
    assert deps.parents("b") == ("a",)
    assert deps.children("a") == ["b"]
    assert deps.cause_chain("b", lambda name: True) == ("a",)
