"""Helpers that start real servers on loopback for the tests."""
