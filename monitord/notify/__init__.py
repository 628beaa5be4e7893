"""Delivery of notifications: the durable outbox and one sender per receiver type."""
