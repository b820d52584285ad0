"""Alembic environment: runs on the engine passed in ``config.attributes["engine"]``."""

from __future__ import annotations

from alembic import context

from datafair.store.schema import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("datafair migrations run online, on an engine")
run_migrations_online()
