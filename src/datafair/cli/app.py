"""The ``datafair`` command: the root app, its command groups, and one-line error handling.

Errors a user can cause print as one line on stderr: exit code 2 for usage errors (bad option,
missing argument), 1 for failures (``DatafairError``). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback

import typer
from rich.console import Console
from typer._click import exceptions as click_errors

from datafair import __version__
from datafair.cli import (
    account,
    chain,
    collect,
    dataset,
    demo,
    export,
    fairpay,
    market,
    quality,
    release,
    reputation,
    review,
    serve,
    settle,
    task,
)
from datafair.cli.common import STATE
from datafair.core.errors import DatafairError

app = typer.Typer(
    name="datafair",
    help="An open, self-hostable, decentralized marketplace for AI training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(account.app, name="account")
app.add_typer(dataset.app, name="dataset")
app.add_typer(task.app, name="task")
app.add_typer(quality.app, name="quality")
app.add_typer(chain.app, name="chain")
app.add_typer(review.app, name="review")
app.add_typer(reputation.app, name="reputation")
app.add_typer(market.app, name="market")
app.add_typer(collect.app, name="collect")
app.command(name="export")(export.export_command)
app.command(name="demo")(demo.demo_command)
app.command(name="fund")(settle.fund_command)
app.command(name="settle")(settle.settle_command)
app.command(name="claim")(settle.claim_command)
app.command(name="refund")(settle.refund_command)
app.command(name="audit")(settle.audit_command)
app.command(name="pay")(fairpay.pay_command)
app.command(name="release")(release.release_command)
app.command(name="serve")(serve.serve_command)
app.command(name="earnings")(settle.earnings_command)


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``datafair`` script; returns the process exit code."""
    command = typer.main.get_command(app)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
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
        err.print(
            f"error: unexpected {type(failure).__name__}: {failure} (rerun with --debug)",
            markup=False,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
