"""Persistence: state survives a restart, including kill -9 at any moment."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from monitord import qualify_store as persist
from monitord.model import EventKind, Status
from monitord.qualify import Qualifier, QualifySettings
from monitord.qualify.codec import incident_from_json
from monitord.qualify.incidents import Told
from monitord.qualify.pipeline import Pipeline
from monitord.qualify_store import load
from monitord.store import Store
from tests.support.qualify import T0, Driver, check, letters
from tests.support.qualify_feeder import (
    SETTINGS,
    STORM,
    apply,
    checks,
    route,
    storm_commands,
)

ROOT = Path(__file__).resolve().parent.parent
FIRING_KINDS = {"problem", "severity", "repeat", "flapping_started", "acknowledged"}
CLOSING_KINDS = {"recovery", "flapping_stopped"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "monitord.db")
    await persist.migrate(s)
    yield s
    await s.close()


async def reload(store: Store, q: Qualifier, configs: list[Any]) -> Qualifier:
    changes = q.take_changes()
    await store.transaction(lambda conn: persist.save_qualifier(conn, changes))
    return await store.call(lambda conn: persist.load_qualifier(conn, configs))


async def test_state_round_trip(store: Store) -> None:
    configs = [check("web", confirm=3, locations=("paris", "tokyo")), check("db"),
               check("dns", labels={"team": "ops"})]
    d = Driver(configs, QualifySettings(repeat_interval=3600.0))
    d.run("web", "C C", location="tokyo")
    [problem] = d.feed("db", "C")
    d.q.acknowledge(problem.incident_id, "alice", "looking", d.now)
    sid = d.q.add_silence(["team=ops"], d.now, d.now.replace(hour=23), "bob", "move",
                          d.now).id
    d.feed("dns", "C")
    d.run("db", "W")
    before = d.q.snapshot(d.now)
    d.q = await reload(store, d.q, configs)
    assert d.q.snapshot(d.now) == before
    assert [s.id for s in d.q.silences(d.now)] == [sid]
    assert d.tick(7200) == []  # still acknowledged, still silenced
    assert letters(d.feed("web", "C", location="tokyo")) == "P"  # confirmation counter kept


async def test_flap_history_survives(store: Store) -> None:
    configs = [check("web")]
    d = Driver(configs)
    d.run("web", " ".join(["O"] * 21) + " C O C O C")
    d.q = await reload(store, d.q, configs)
    assert d.run("web", "O") == ["F"]  # 35.53: the five saved states counted


async def test_removed_check_with_a_told_incident_recovers_after_restart(store: Store) -> None:
    d = Driver([check("web", confirm=2), check("db")])
    d.feed("web", "C")
    [problem] = d.feed("db", "C")
    d.q = await reload(store, d.q, [check("web", confirm=2)])
    [closed] = d.tick()
    assert (closed.kind, closed.incident_id) == (EventKind.RECOVERY, problem.incident_id)
    assert closed.labels["check"] == "db"
    d.q = await reload(store, d.q, [check("web", confirm=2)])
    assert d.tick() == []
    rows = await store.call(lambda c: c.execute("SELECT name FROM qualify_check").fetchall())
    assert rows == [("web",)]


async def test_schema_is_versioned(store: Store) -> None:
    assert await persist.migrate(store) == len(persist.MIGRATIONS)
    version = await store.call(lambda c: c.execute(
        "SELECT version FROM schema_version WHERE component = 'qualify'").fetchone())
    assert version == (len(persist.MIGRATIONS),)


# -- a real process, killed ------------------------------------------------------------------


class Feeder:
    """The feeder script in a subprocess; answers are read by a thread so a hung child
    fails the test instead of hanging it."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.qualify_feeder", str(db)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def ask(self, **command: Any) -> dict[str, Any]:
        self.send(**command)
        return self.answer()

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.lines.get(timeout=60))
        return answer

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.reader.join(timeout=30)  # ends at EOF once the child is gone
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def feeder(tmp_path: Path) -> Any:
    started: list[Feeder] = []

    def start() -> Feeder:
        f = Feeder(tmp_path / "monitord.db")
        started.append(f)
        return f

    yield start
    for f in started:
        f.close()


@asynccontextmanager
async def resumed(tmp_path: Path) -> AsyncIterator[tuple[Store, Pipeline]]:
    """The pipeline rebuilt from what the killed process left in the database."""
    store = await Store.open(tmp_path / "monitord.db")
    try:
        yield store, await store.call(lambda conn: load(conn, checks(), route, SETTINGS))
    finally:
        await store.close()


async def step(store: Store, pipeline: Pipeline, **command: Any) -> tuple[list[list[str]],
                                                                         list[list[str]]]:
    """The same step as the feeder: apply, flush what is due, commit."""
    events = apply(pipeline, command)
    batch = pipeline.take_batch(T0 + timedelta(seconds=command["t"]))
    await store.transaction(partial(persist.write, batch=batch))
    return ([[e.check, e.kind.value] for e in events],
            [[e.check, e.kind.value] for n in batch.notifications for e in n.events])


async def test_killed_mid_confirmation(tmp_path: Path, feeder: Any) -> None:
    f = feeder()
    assert f.ask(op="result", check="web", status="C", t=0)["events"] == []
    assert f.ask(op="result", check="web", status="C", t=15)["events"] == []
    f.kill()
    async with resumed(tmp_path) as (store, pipeline):
        assert pipeline.qualifier.retrying("web")
        events, _ = await step(store, pipeline, op="result", check="web", status="C", t=30)
        assert events == [["web", "problem"]]  # the third failure, counting the two saved
        _, sent = await step(store, pipeline, op="tick", t=60)
        assert sent == [["web", "problem"]]


async def test_killed_mid_incident_after_the_problem_was_sent(tmp_path: Path,
                                                              feeder: Any) -> None:
    f = feeder()
    assert f.ask(op="result", check="db", status="C", t=0)["events"] == [["db", "problem"]]
    assert f.ask(op="tick", t=30)["sent"] == [["db", "problem"]]
    f.kill()
    async with resumed(tmp_path) as (store, pipeline):
        for t in (60, 120, 180):
            assert await step(store, pipeline, op="result", check="db", status="C",
                              t=t) == ([], [])
        assert (await step(store, pipeline, op="tick", t=600)) == ([], [])  # no new PROBLEM
        events, _ = await step(store, pipeline, op="result", check="db", status="O", t=700)
        assert events == [["db", "recovery"]]
        _, sent = await step(store, pipeline, op="tick", t=800)
        assert sent == [["db", "recovery"]]


async def test_killed_with_a_problem_waiting_in_its_group(tmp_path: Path,
                                                          feeder: Any) -> None:
    f = feeder()
    f.ask(op="result", check="db", status="C", t=0)
    f.ask(op="result", check="api", status="C", t=1)  # held: caused by db
    f.kill()
    async with resumed(tmp_path) as (store, pipeline):
        _, sent = await step(store, pipeline, op="tick", t=30)
        assert sent == [["db", "problem"]]  # not lost, not doubled
        events, _ = await step(store, pipeline, op="result", check="db", status="O", t=40)
        assert sorted(events) == [["api", "problem"], ["db", "recovery"]]


async def test_killed_with_a_recovery_waiting_in_its_group(tmp_path: Path,
                                                           feeder: Any) -> None:
    f = feeder()
    f.ask(op="result", check="db", status="C", t=0)
    assert f.ask(op="tick", t=30)["sent"] == [["db", "problem"]]
    assert f.ask(op="result", check="db", status="O", t=40)["events"] == [["db", "recovery"]]
    f.kill()
    async with resumed(tmp_path) as (store, pipeline):
        assert (await step(store, pipeline, op="tick", t=89))[1] == []
        assert (await step(store, pipeline, op="tick", t=90))[1] == [["db", "recovery"]]


async def test_killed_at_a_random_moment_of_a_storm(tmp_path: Path, feeder: Any) -> None:
    """Every step commits state, group entries and sent notifications together: whatever
    the moment of the kill, what receivers were told matches what the state says was told,
    and resuming never repeats a PROBLEM nor loses a closing event."""
    rounds = 30
    commands = storm_commands(rounds, 0.0)
    f = feeder()
    f.send(op="storm", rounds=rounds, t=0.0)
    last = -1
    while last < len(commands) // 2:
        last = f.answer()["progress"]
    f.kill()  # the child is still writing: this lands anywhere in a step

    async with resumed(tmp_path) as (store, pipeline):
        told = await store.call(lambda c: [incident_from_json(r[0]) for r in c.execute(
            "SELECT data FROM qualify_incident")])
        assert any(inc.told is not Told.NOTHING for inc in told)
        said = await said_per_incident(store)
        for inc in told:
            kinds = said.get(inc.id, Counter())
            if inc.told is not Told.NOTHING:
                assert FIRING_KINDS & set(kinds), inc.id
            if not inc.open and inc.told is not Told.NOTHING:
                assert CLOSING_KINDS & set(kinds), inc.id
        # Resume after the last step known to be committed (the next one may be too:
        # a duplicate result is ignored), then let everything recover for good.
        t = commands[-1]["t"]
        rest = commands[last + 1:] + [
            {"op": "result", "check": f"s{i:03}", "status": "O", "t": t + 10 * r + 1 + i / 100}
            for r in range(30) for i in range(STORM)]
        for command in rest:
            await step(store, pipeline, **command)
        await step(store, pipeline, op="tick", t=t + 10_000)
        said = await said_per_incident(store)
        assert said
        for incident, kinds in said.items():
            assert kinds["problem"] <= 1, incident
            assert kinds["flapping_started"] <= 1, incident
            assert sum(kinds[k] for k in CLOSING_KINDS) == 1, incident
        assert pipeline.qualifier.incidents() == []
        final = pipeline.qualifier.snapshot(T0 + timedelta(seconds=t + 10_000))
        assert all(v.status is Status.OK for v in final.values())


async def said_per_incident(store: Store) -> dict[str, Counter[str]]:
    """Event kinds per incident in the notification log and in pending group entries."""
    def read(conn: Any) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for *_, events in persist.notification_log(conn, limit=1_000_000):
            for incident, kind, _status in events:
                out.setdefault(incident, Counter())[kind] += 1
        for (text,) in conn.execute("SELECT event FROM qualify_group_entry"):
            [event] = json.loads(text)["events"]
            out.setdefault(event["incident_id"], Counter())[event["kind"]] += 1
        return out

    return await store.call(read)


async def test_a_batch_written_twice_is_not_an_error(store: Store) -> None:
    """A commit whose caller was cancelled after the store committed is written again with
    the next one: its group entries must not collide with themselves."""
    from monitord.qualify.grouping import GroupChanges

    changes = GroupChanges(groups=(("hook", "{}", "{}"),),
                           entries=((7, "hook", "{}", '{"event": 1}'),))
    for _ in range(2):
        await store.transaction(partial(persist.save_grouper, changes=changes))
    rows = await store.call(lambda conn: conn.execute(
        "SELECT id, event FROM qualify_group_entry").fetchall())
    assert rows == [(7, '{"event": 1}')]
