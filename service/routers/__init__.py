"""The HTTP API v1 (docs/PROTOCOL.md §5), one router per domain."""
