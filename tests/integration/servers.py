"""Server processes for the API tests: the app on a test database, reached in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from service.app import create_app, start
from service.deps import Services
from service.settings import Settings
from tests.asgi import SyncASGITransport


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[Services, httpx.Client]]:
    """One server process (its own in-memory state) and a client that reaches it in-process."""
    app = create_app(settings)
    services: Services = app.state.services
    start(services)
    try:
        with httpx.Client(
            transport=SyncASGITransport(app), base_url="http://isegoria.test"
        ) as client:
            yield services, client
    finally:
        services.engine.dispose()
