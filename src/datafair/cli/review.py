"""`datafair review`: take a submission to review, and sign and submit a verdict or rating."""

from __future__ import annotations

from pathlib import Path

import typer

from datafair.cli.common import (
    HOME_OPTION,
    STATE,
    console,
    open_database,
    read_password,
    settings_for,
    shown,
)
from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput

app = typer.Typer(help="Review other contributors' answers.", no_args_is_help=True)


def parse_verdict(text: str) -> tuple[str | None, int | None]:
    """``accept``/``reject`` → a verdict; ``1``..``5`` → a rating."""
    value = text.strip().lower()
    if value in ("accept", "reject"):
        return value, None
    if value in ("1", "2", "3", "4", "5"):
        return None, int(value)
    raise InvalidInput("verdict", f"{text!r} is not a verdict", "use accept, reject or 1-5")


@app.command("next")
def next_(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    account: str = typer.Option(..., "--account", help="Your account name."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Show the next submission for you to review."""
    from datafair.services.reviews import next_review
    from datafair.store.keystore import KeyStore

    settings = settings_for(home)
    if STATE.server:
        from datafair.cli import remote

        remote.review_next(settings, task_id, account)
        return
    address = KeyStore(settings.keys_dir).info(account).address
    database = open_database(settings)
    with database.session() as session:
        target = next_review(session, task_id, address)
    if target is None:
        console.print("no submission left for you to review in this task")
        return
    console.print(f"submission {target.submission_id} on item {target.item_cid}")
    if target.text is not None:
        console.print(shown(target.text, lines=True))
    console.print(f"answer: {shown(canonical_json(target.answer).decode())}")


@app.command("submit")
def submit_(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    submission_id: int = typer.Argument(..., help="Submission you review."),
    verdict: str = typer.Argument(..., help="accept, reject, or a rating 1-5."),
    account: str = typer.Option(..., "--account", help="Your account name (signs the review)."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Sign your review with your wallet (EIP-712) and submit it."""
    from datafair.services.reviews import signed_review, submit_review
    from datafair.store.keystore import KeyStore

    chosen, rating = parse_verdict(verdict)
    settings = settings_for(home)
    if STATE.server:
        from datafair.cli import remote

        remote.review_submit(settings, task_id, submission_id, chosen, rating, account)
        return
    wallet = KeyStore(settings.keys_dir).load(account, read_password(settings))
    database = open_database(settings)
    with database.session() as session:
        entry = signed_review(
            session, task_id, submission_id, bytes(wallet.key), verdict=chosen, rating=rating
        )
        review_id = submit_review(session, entry)
    console.print(f"review #{review_id} of submission {submission_id} signed by {wallet.address}")
