"""The isegoria service: HTTP API, persistence, key storage and the registrar (the I/O layer)."""
