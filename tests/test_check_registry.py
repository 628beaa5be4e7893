"""The check-kind registry: kinds known by name, their modules imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitord.checks.kind import CheckKind
from monitord.checks.registry import KINDS, MODULES, Registry, UnknownKind, load_kind


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_registered_module_declares_its_kind(name: str) -> None:
    kind = KINDS[name]
    assert isinstance(kind, CheckKind)
    assert kind.name == name


def test_importing_the_registry_loads_no_kind_and_no_network_library() -> None:
    script = ("import sys; from monitord.checks.registry import KINDS; "
              "names = sorted(KINDS); 'http' in KINDS; "
              "print(len(names), KINDS.loaded(), "
              "[m for m in ('aiohttp', 'dns', 'aiodns', 'pysnmp', 'monitord.checks.http') "
              "if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == [str(len(MODULES)), "()", "[]"]


def test_a_kind_is_imported_once_then_cached() -> None:
    registry = Registry({"tcp": "monitord.checks.tcp"})
    assert registry.loaded() == ()
    first = registry["tcp"]
    assert registry.loaded() == ("tcp",)
    assert registry["tcp"] is first


def test_an_unknown_kind_is_a_key_error() -> None:
    assert KINDS.get("gopher") is None
    assert "gopher" not in KINDS
    with pytest.raises(UnknownKind):
        KINDS["gopher"]


def test_a_module_without_a_kind_is_refused() -> None:
    with pytest.raises(TypeError, match=r"monitord\.clock\.KIND is not a check kind"):
        load_kind("monitord.clock")
