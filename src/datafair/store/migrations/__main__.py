"""``python -m datafair.store.migrations revision -m MESSAGE``: autogenerate a new revision.

The models are compared with a scratch SQLite database migrated to the current head.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from datafair.store.db import make_engine
from datafair.store.migrations import alembic_config, migrate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m datafair.store.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="autogenerate a revision from the models")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        migrate(engine)
        command.revision(alembic_config(engine), message=args.message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main()
