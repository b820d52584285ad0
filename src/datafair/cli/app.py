"""The ``datafair`` command: the root app, its command groups, and one-line error handling.

Errors a user can cause print as one line on stderr: exit code 2 for usage errors (bad option,
missing argument), 1 for failures (``DatafairError``). ``--debug`` shows the traceback instead.

Start-up is lazy: the root group knows each command's name, module and one-line help
(:data:`COMMANDS`) and imports a command's module only when that command runs or prints its own
help, so ``datafair --help`` and a usage error load neither web3, eth-account, scipy,
SQLAlchemy, pyarrow nor the EVM. Command modules import heavy packages inside their functions.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import typer
from typer._click import exceptions as click_errors
from typer.core import TyperCommand, TyperGroup

from datafair import __version__
from datafair.cli.common import STATE
from datafair.core.errors import DatafairError


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives: ``module:attribute`` (a ``typer.Typer`` or a command function)."""

    target: str
    help: str


COMMANDS: dict[str, LazyCommand] = {
    "account": LazyCommand(
        "datafair.cli.account:app", "Create, import and list wallets (encrypted keystore v3 files)."
    ),
    "dataset": LazyCommand("datafair.cli.dataset:app", "Import, list and show datasets."),
    "task": LazyCommand(
        "datafair.cli.task:app", "Create labelling tasks, take items, submit signed answers."
    ),
    "quality": LazyCommand(
        "datafair.cli.quality:app", "Truth inference, contributor skills and agreement."
    ),
    "chain": LazyCommand(
        "datafair.cli.chain:app",
        "Deploy datafair's contracts and inspect the chain (embedded or --rpc URL).",
    ),
    "review": LazyCommand("datafair.cli.review:app", "Review other contributors' answers."),
    "reputation": LazyCommand(
        "datafair.cli.reputation:app", "Contributors' reputations and pauses."
    ),
    "export": LazyCommand(
        "datafair.cli.export:export_command",
        "Infer labels and export them with provenance, in a format trainers load.",
    ),
    "demo": LazyCommand(
        "datafair.cli.demo:demo_command",
        "Run a full round: publish, fund, crowd-label, infer, export, settle, claim, audit.",
    ),
    "fund": LazyCommand(
        "datafair.cli.settle:fund_command", "Fund a task on the escrow, committing to its gold."
    ),
    "settle": LazyCommand(
        "datafair.cli.settle:settle_command",
        "Settle the next epoch of a task (or resume one) and post its root.",
    ),
    "claim": LazyCommand(
        "datafair.cli.settle:claim_command",
        "Claim payouts with proofs, or write them for an external wallet.",
    ),
    "payouts": LazyCommand(
        "datafair.cli.settle:payouts_command",
        "List an address's payouts (task, epoch, index, amount, claimed).",
    ),
    "refund": LazyCommand(
        "datafair.cli.settle:refund_command",
        "After the deadline, take back what no payout of the task took.",
    ),
    "audit": LazyCommand(
        "datafair.cli.settle:audit_command",
        "Recompute a payout from its bundle and check it against the chain.",
    ),
    "pay": LazyCommand(
        "datafair.cli.fairpay:pay_command",
        "A task's median time on item and hourly pay against the fair-pay floor.",
    ),
    "serve": LazyCommand(
        "datafair.cli.serve:serve_command",
        "Serve the marketplace: the HTTP API, the web app and the embedded chain's JSON-RPC.",
    ),
    "market": LazyCommand(
        "datafair.cli.market:app",
        "Browse, sell and buy dataset releases; royalties and licensed downloads.",
    ),
    "collect": LazyCommand(
        "datafair.cli.collect:app", "Collection tasks: contributors submit new signed items."
    ),
    "release": LazyCommand(
        "datafair.cli.release:release_command",
        "Freeze a settled task's or dataset's data as a release with royalty weights.",
    ),
    "earnings": LazyCommand(
        "datafair.cli.settle:earnings_command",
        "Your earnings per task and epoch, with the reasons (from a --server).",
    ),
}


def load_command(name: str, entry: LazyCommand) -> Any:
    """Import ``entry``'s module and build its click command named ``name``."""
    module_name, _, attribute = entry.target.partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    command: Any
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: lists commands from :data:`COMMANDS`, imports one only when it runs."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [
            *super().list_commands(ctx),
            *(name for name in COMMANDS if name not in self.commands),
        ]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        entry = COMMANDS[cmd_name]
        if self._listing:  # the root's help lists names and one-liners only
            return TyperCommand(name=cmd_name, help=entry.help, callback=None)
        command = load_command(cmd_name, entry)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="datafair",
    cls=LazyGroup,
    rich_markup_mode=None,  # plain help: rendering it with rich costs more than the rest
    help="An open, self-hostable, decentralized marketplace for AI training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"datafair {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    server: str | None = typer.Option(
        None,
        "--server",
        envvar="DATAFAIR_SERVER",
        help="URL of a remote datafair server: task next|submit, review next|submit, claim and "
        "earnings then run against it, signing locally with the keystore account.",
    ),
) -> None:
    """An open, self-hostable, decentralized marketplace for AI training data."""
    STATE.debug = debug
    STATE.server = server.rstrip("/") if server else None


class _ErrorLine:
    """Prints one plain error line on stderr (no rich: errors must be cheap too)."""

    def print(self, text: str, *, markup: bool = True) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _store_failure(failure: Exception) -> str | None:
    """One line for a database that failed under a command (read-only, gone, full), else None.

    SQLAlchemy is looked up in ``sys.modules``, not imported: if no command loaded it, the
    failure cannot be one of its errors.
    """
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(failure, errors.OperationalError):
        return None
    lines = str(getattr(failure, "orig", failure)).strip().splitlines() or ["failed"]
    return (
        f"error: database: {lines[0].strip()} (check that the database is reachable and that "
        "you may write it and its folder, e.g. the home; --debug shows the details)"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``datafair`` script; returns the process exit code."""
    command = typer.main.get_command(app)
    err = _ErrorLine()
    args = list(sys.argv[1:] if argv is None else argv)
    STATE.debug = "--debug" in args
    try:
        command.main(args=args, prog_name="datafair", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except typer.Abort:
        err.print("error: aborted")
        return 1
    except click_errors.UsageError as usage:
        hint = f" (see '{usage.ctx.command_path} --help')" if usage.ctx else ""
        err.print(f"error: {usage.format_message()}{hint}", markup=False)
        return 2
    except click_errors.ClickException as failure:
        err.print(f"error: {failure.format_message()}", markup=False)
        return failure.exit_code
    except DatafairError as failure:
        if STATE.debug:
            traceback.print_exc()
        err.print(f"error: {failure}", markup=False)
        return failure.exit_code
    except KeyboardInterrupt:
        err.print("error: interrupted")
        return 130
    except Exception as failure:  # a bug: one line unless --debug
        if STATE.debug:
            traceback.print_exc()
        store = _store_failure(failure)
        if store is not None:
            err.print(store, markup=False)
            return 1
        first = (str(failure).strip().splitlines() or [""])[0]  # one line, whatever the bug
        err.print(
            f"error: unexpected {type(failure).__name__}: {first} (rerun with --debug)",
            markup=False,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
