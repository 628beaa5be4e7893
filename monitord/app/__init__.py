"""The daemon: builds the world from a config, runs it in one TaskGroup, reloads by swapping."""

from monitord.app.daemon import GC_THRESHOLDS, Daemon
from monitord.app.parts import CheckState, NewWorld, StartupError, build_checks
from monitord.app.view import DaemonView

__all__ = ["GC_THRESHOLDS", "CheckState", "Daemon", "DaemonView", "NewWorld", "StartupError",
           "build_checks"]
