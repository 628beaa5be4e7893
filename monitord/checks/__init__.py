"""Check kinds: one module each, behind the small protocol of :mod:`monitord.checks.base`."""
