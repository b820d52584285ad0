"""`datafair collect create | submit`: collection tasks, whose contributors supply new items.

``create`` stores a collection task (formats, size limit, k reviews, price per accepted item,
royalty promise); ``submit`` signs one item (EIP-712 ``Contribution`` over its CID) with a
keystore account and sends it through the duplicate checks. Reviews use ``datafair review``.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from datafair.cli.common import (
    HOME_OPTION,
    blob_store,
    console,
    open_database,
    read_password,
    settings_for,
    split_list,
)
from datafair.core.errors import InvalidInput

app = typer.Typer(help="Collection tasks: contributors supply new items.", no_args_is_help=True)


@app.command("create")
def create_command(
    title: str = typer.Option(..., "--title", help="Title of the collection (and its dataset)."),
    description: str = typer.Option("", "--description", help="What to contribute."),
    formats: str = typer.Option(
        "text", "--formats", help="Accepted formats: text, image, instruction, preference."
    ),
    max_bytes: int = typer.Option(1_000_000, "--max-bytes", min=1, help="Largest item, bytes."),
    reviews: int = typer.Option(3, "--reviews", min=1, help="Reviews per item (k)."),
    price: int = typer.Option(0, "--price", min=0, help="Pay per accepted item, base units."),
    review_bps: int = typer.Option(0, "--review-bps", help="Reviewers' share of an item's pay."),
    royalty_bps: int = typer.Option(
        3_000, "--royalty-bps", help="Contributors' share of every future sale (basis points)."
    ),
    license: str = typer.Option("CC-BY-4.0", "--license", help="SPDX licence of the items."),
    languages: str = typer.Option("", "--languages", help="Languages, comma-separated."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Create a collection task."""
    from datafair.core.collection import CollectionTerms
    from datafair.core.task import DatasetCard
    from datafair.services.collection import create_collection_task

    settings = settings_for(home)
    database = open_database(settings)
    with database.session() as session:
        info = create_collection_task(
            session,
            card=DatasetCard(
                title=title,
                description=description,
                license=license,
                languages=split_list(languages),
            ),
            terms=CollectionTerms(formats=split_list(formats), max_bytes=max_bytes),
            price_per_item=price,
            reviews_per_item=reviews,
            review_bps=review_bps,
            royalty_share_bps=royalty_bps,
            royalty_floor_bps=settings.royalty_floor_bps,
            chain_id=settings.chain_id,
            salt=time.time_ns(),
        )
    database.dispose()
    console.print(f"created collection task [bold]{info.task_id_hex}[/]")


def _payload(fmt: str, text: str | None, file: Path | None, fields: list[str]) -> dict[str, object]:
    if fmt == "image":
        if file is None:
            raise InvalidInput("--file", "an image item needs a file", "pass --file IMAGE.png")
        return {"image": file.read_bytes()}
    if fmt == "text":
        if text is None:
            raise InvalidInput("--text", "a text item needs its text", "pass --text '...'")
        return {"text": text}
    names = (
        ("instruction", "response") if fmt == "instruction" else ("prompt", "chosen", "rejected")
    )
    if len(fields) != len(names):
        raise InvalidInput(
            "--field",
            f"a {fmt} item needs {len(names)} fields",
            f"pass --field for {', '.join(names)}",
        )
    return dict(zip(names, fields, strict=True))


@app.command("submit")
def submit_command(
    task_id: str = typer.Argument(..., help="Collection task id (0x...)."),
    fmt: str = typer.Option("text", "--format", help="text, image, instruction or preference."),
    text: str | None = typer.Option(None, "--text", help="The text of a text item."),
    file: Path | None = typer.Option(
        None, "--file", exists=True, dir_okay=False, help="The image file of an image item."
    ),
    field: list[str] = typer.Option(
        [], "--field", help="Fields in order: instruction, response / prompt, chosen, rejected."
    ),
    account: str = typer.Option(..., "--account", help="Your account name (signs the item)."),
    seconds: float = typer.Option(0.0, "--seconds", min=0, help="Time you spent on it."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Sign a new item with your wallet and submit it (duplicates are refused)."""
    from datafair.core.collection import CollectionTerms, build_contribution
    from datafair.crypto.cid import compute_cid
    from datafair.crypto.eip712 import ContributionMessage, SubmissionDomain, sign_contribution
    from datafair.services.collection import (
        ContributionInput,
        NearDuplicateIndexes,
        descriptor_hash,
        submit_contribution,
    )
    from datafair.services.tasks import get_task
    from datafair.store.keystore import KeyStore

    settings = settings_for(home)
    payload = _payload(fmt, text, file, field)
    content = build_contribution(fmt, payload, CollectionTerms(max_bytes=50_000_000)).content
    wallet = KeyStore(settings.keys_dir).load(account, read_password(settings))
    database = open_database(settings)
    with database.session() as session:
        info = get_task(session, task_id)
        nonce = time.time_ns() // 1000
        message = ContributionMessage(
            info.task_id,
            compute_cid(content),
            descriptor_hash(fmt),
            wallet.address,
            nonce,
            int(seconds * 1000),
        )
        signature = sign_contribution(
            bytes(wallet.key), SubmissionDomain(info.spec.chain_id), message
        )
        result = submit_contribution(
            session,
            ContributionInput(
                info.task_id, wallet.address, fmt, payload, nonce, signature, int(seconds * 1000)
            ),
            blobs=blob_store(settings),
            indexes=NearDuplicateIndexes(
                settings.near_duplicate_text, settings.near_duplicate_image_bits
            ),
        )
    database.dispose()
    console.print(f"submitted item {result.item_cid} signed by {wallet.address}")
