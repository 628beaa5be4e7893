"""Routing: label matchers, time intervals and routes. Pure: ``now`` is always passed in."""
