"""The web app's speed: server time to first byte of every page, and key press → next item.

Run by hand: ``python benchmarks/web_pages.py [--items 10000] [--contributors 100]
[--requests 30] [--labels 200]``. Builds a home with a classification task over ``--items``
texts (k = 3) answered by ``--contributors`` signing wallets (through the submission service,
so answers are real signed rows), starts ``datafair serve`` on it, then

1. requests every page ``--requests`` times with httpx, signed in as the requester (pages that
   need a wallet) and prints p50 / p95 time to first byte (targets: p50 < 30 ms);
2. drives Debian's Chromium (Playwright, ``/usr/bin/chromium``) with a dev wallet injected as
   the browser tests do: one contributor labels ``--labels`` items by key presses, each answer
   signed by its session key, and prints p50 / p95 from the key press to the next item shown
   (target: p95 < 150 ms).

The peer for the page timings is the JSON route that serves the same data (``/api/v1/tasks``),
measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "web"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _build(root: Path, n_items: int, n_contributors: int) -> tuple[str, str]:
    """A home with a task over ``n_items`` texts, answered by ``n_contributors`` wallets."""
    from web_helpers import OPERATOR, deploy_home, web_wallet

    from datafair.core.canonical import canonical_json, keccak256
    from datafair.core.task import DatasetCard
    from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
    from datafair.services.datasets import import_dataset
    from datafair.services.submissions import SubmissionInput, submit_many
    from datafair.services.tasks import create_task, load_task
    from datafair.settings import Settings
    from datafair.store.blobs import BlobStore
    from datafair.store.db import Database
    from datafair.store.repositories import TaskRepository

    settings = Settings(home=root / "home", cache=root / "cache", operators=OPERATOR.address)
    settings.ensure_home()
    deploy_home(settings, root / "cache")
    source = root / "texts.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows(
            [f"benchmark review {i}: {'good' if i % 3 else 'bad'}"] for i in range(n_items)
        )
    from datafair.core.schemas import LabelSchema, TaskType
    from datafair.core.task import TaskSpec

    database = Database.open(settings)
    with database.session() as session:
        report = import_dataset(
            session, BlobStore(settings.blobs_dir), source, DatasetCard(title="bench")
        )
        spec = TaskSpec(
            dataset_cid=report.manifest_cid,
            title="Benchmark sentiment",
            schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
            overlap=3,
            price_per_answer=1000,
            deadline=int(time.time()) + 86_400,
            chain_id=settings.chain_id,
            salt=7,
        )
        requester = web_wallet("requester").address
        task = create_task(session, spec, gold={}, requester=requester)
        item_cids = TaskRepository(session).item_cids(load_task(session, task.task_id).id)
        rng = random.Random(3)
        domain = SubmissionDomain(settings.chain_id)
        entries = []
        wallets = [web_wallet(f"bench {n}") for n in range(n_contributors)]
        for index, cid in enumerate(item_cids[: n_items // 2]):
            for wallet in rng.sample(wallets, 2):
                answer = rng.choice(["pos", "neg"])
                answer_hash = keccak256(canonical_json(answer))
                message = SubmissionMessage(
                    task.task_id, cid, answer_hash, wallet.address, index, 4000
                )
                entries.append(
                    SubmissionInput(
                        task.task_id,
                        cid,
                        wallet.address,
                        answer,
                        index,
                        4000,
                        sign_submission(bytes(wallet.key), domain, message),
                        answer_hash,
                    )
                )
        results = submit_many(session, entries)
        assert all(result.ok for result in results)
    database.dispose()
    return str(settings.home), task.task_id_hex


def _ttfb(url: str, path: str, token: str | None, n: int) -> tuple[float, float]:
    cookies = {"datafair_session": token} if token else {}
    times = []
    with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
        client.get(path)
        for _ in range(n):
            started = time.perf_counter()
            with client.stream("GET", path) as response:
                next(response.iter_raw(1), b"")
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times), _percentile(times, 0.95)


def _label(url: str, task: str, n: int) -> list[float]:
    from playwright.sync_api import sync_playwright
    from web_helpers import web_wallet
    from web_live import CHROMIUM, CHROMIUM_ARGS, wallet_script

    wallet = web_wallet("bench labeller")
    latencies = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_init_script(wallet_script(wallet.key.hex(), 31337))
        page = context.new_page()
        page.goto(url + "/")
        page.click("[data-action=connect]")
        page.wait_for_selector(".wallet .address")
        page.goto(f"{url}/tasks/{task}/label")
        page.wait_for_function("document.getElementById('labeller').dataset.state === 'ready'")
        for _ in range(n):
            item = page.get_attribute("#labeller", "data-item")
            started = time.perf_counter()
            page.keyboard.press("1")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "prev => document.getElementById('labeller').dataset.item !== prev", arg=item
            )
            latencies.append((time.perf_counter() - started) * 1000)
        browser.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--contributors", type=int, default=100)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--labels", type=int, default=200)
    args = parser.parse_args()
    from web_helpers import web_wallet

    from datafair.api.devserver import serving
    from datafair.client import DatafairClient

    with tempfile.TemporaryDirectory(prefix="datafair-web-bench-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        home, task = _build(root, args.items, args.contributors)
        print(
            f"built: {args.items:,} items, {args.contributors} contributors "
            f"in {time.perf_counter() - started:.1f} s"
        )
        with serving(Path(home)) as url:
            client = DatafairClient(url)
            token = client.sign_in(web_wallet("requester"))
            pages = [
                ("/", None),
                (f"/tasks/{task}", None),
                (f"/tasks/{task}/label", token),
                (f"/tasks/{task}/review", token),
                (f"/tasks/{task}/dashboard", token),
                (f"/tasks/{task}/fund", token),
                ("/tasks/new", token),
                ("/datasets/new", token),
                ("/me", token),
                ("/audit", None),
                ("/contracts", None),
                ("/totals", None),
                ("/api/v1/tasks (JSON peer)", None),
            ]
            print(f"\n{'page':44} {'TTFB p50 ms':>12} {'p95 ms':>8}")
            for path, cookie in pages:
                real = path.split(" ")[0]
                p50, p95 = _ttfb(url, real, cookie, args.requests)
                print(f"{path:44} {p50:12.1f} {p95:8.1f}")
            latencies = _label(url, task, args.labels)
            print(f"\nkey press -> next item, {len(latencies)} answers signed by a session key")
            print(f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            print(
                f"{statistics.median(latencies):8.1f} {_percentile(latencies, 0.95):8.1f} "
                f"{max(latencies):8.1f}"
            )


if __name__ == "__main__":
    main()
