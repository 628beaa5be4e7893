"""Dependencies between checks (``depends_on``): root cause instead of an alert storm.

A child whose parent is *down* is held: its problem is recorded as caused by the parent and
not notified on its own; the parent's events list the impacted children. Chains are followed
through failing intermediates: if C depends on B and B on A, and all three fail, C is caused
by B -> A. A parent counts as down while it has a confirmed problem and also while it is
confirming one, so that children confirmed a moment before their parent do not slip out.
Any one failing parent is enough (not all of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping


class Dependencies:
    """The parent/child graph of the configured checks (unknown parents are ignored)."""

    def __init__(self, parents: Mapping[str, Iterable[str]]) -> None:
        self._parents: dict[str, tuple[str, ...]] = {}
        self._children: dict[str, list[str]] = {}
        for child, names in parents.items():
            known = tuple(p for p in dict.fromkeys(names) if p in parents and p != child)
            if known:
                self._parents[child] = known
            for parent in known:
                self._children.setdefault(parent, []).append(child)

    def parents(self, name: str) -> tuple[str, ...]:
        return self._parents.get(name, ())

    def children(self, name: str) -> list[str]:
        return self._children.get(name, [])

    def cause_chain(self, name: str, is_down: Callable[[str], bool]) -> tuple[str, ...]:
        """The path of down ancestors from ``name``'s first down parent to the root cause."""
        chain: list[str] = []
        seen = {name}
        current = name
        while True:
            parent = next((p for p in self.parents(current) if p not in seen and is_down(p)),
                          None)
            if parent is None:
                return tuple(chain)
            chain.append(parent)
            seen.add(parent)
            current = parent

    def impacted(self, name: str, is_failing: Callable[[str], bool]) -> tuple[str, ...]:
        """Failing descendants reached through failing children only, sorted."""
        found: set[str] = set()
        stack = [name]
        while stack:
            for child in self.children(stack.pop()):
                if child not in found and child != name and is_failing(child):
                    found.add(child)
                    stack.append(child)
        return tuple(sorted(found))


def find_cycle(parents: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, …, a]``, or None; for config validation."""
    graph = {name: [p for p in deps if p in parents] for name, deps in parents.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in graph:
        if state.get(start):
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            nexts = graph[node]
            if index < len(nexts):
                stack.append((node, index + 1))
                target = nexts[index]
                if state.get(target) == 1:
                    return [*path[path.index(target):], target]
                if not state.get(target):
                    stack.append((target, 0))
            else:
                state[node] = 2
                path.pop()
    return None
