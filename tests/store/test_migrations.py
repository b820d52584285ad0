"""Migrations: the head revision creates exactly the tables, columns and constraints of the
models, on SQLite and PostgreSQL, and downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from datafair.store.db import Database
from datafair.store.migrations import current_revision, downgrade, head_revision, migrate
from datafair.store.schema import Base


def _not_full_text_index(obj: object, name: str | None, kind: str, *args: object) -> bool:
    """The full-text tables of release cards (SQLite FTS5 and its shadow tables) and the
    PostgreSQL expression index are made by the migration, not by a model."""
    return not (name or "").startswith(("release_search", "ix_releases_search"))


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _not_full_text_index}
        )
        return list(compare_metadata(context, Base.metadata))


def test_the_migration_head_equals_the_models(db: Database):
    assert current_revision(db.engine) == head_revision()
    assert _differences(db) == []


def test_the_head_has_the_check_constraints_that_bound_answers(db: Database):
    checks = {check["name"] for check in inspect(db.engine).get_check_constraints("task_items")}
    assert "ck_task_items_answers_within_capacity" in checks


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(db: Database):
    downgrade(db.engine, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(db.engine) is None
    migrate(db.engine)
    assert current_revision(db.engine) == head_revision()
    assert _differences(db) == []


def test_migrating_twice_is_a_no_op(db: Database):
    migrate(db.engine)
    assert current_revision(db.engine) == head_revision()
