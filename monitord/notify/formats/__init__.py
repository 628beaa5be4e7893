"""Pure renderers: Notification -> webhook payload. No I/O, no clock."""
