"""The HTTP API: health, metrics, status page and the operator endpoints."""
