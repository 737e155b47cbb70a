"""Alembic environment: migrations run only through ``service.db.migrate(engine)``.

There is no alembic.ini: ``migrate`` passes its open connection (inside the transaction it
began) as ``config.attributes["connection"]``, so every migration is one transaction with the
caller's locks.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import service.models  # noqa: F401  (registers the tables on Base.metadata)
from service.db import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    raise RuntimeError("run the migrations with service.db.migrate(engine)")
_run(_connection)
