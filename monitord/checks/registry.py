"""The explicit registry of check kinds: type name -> kind. Add a kind here, nowhere else."""

from __future__ import annotations

from collections.abc import Mapping

from monitord.checks.base import CheckKind

KINDS: Mapping[str, CheckKind] = {
}
