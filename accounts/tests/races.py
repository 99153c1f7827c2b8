"""Work released together from threads, for the tests of races (every app's)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections
from rest_framework.test import APIClient


def run_together(*work: Callable[[], object]) -> list:
    """Run each callable in its own thread, all released at one barrier: what each returned, or the
    exception it raised, in order. Each thread closes its database connections when done."""
    barrier = threading.Barrier(len(work))
    outcomes: list = [None] * len(work)

    def runner(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = work[index]()
        except Exception as exc:  # surfaces in the caller's assertions, not as a hung thread
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def concurrently(request: Callable[[APIClient], object], n: int = 2) -> list:
    """`request(client)` from n threads released together, each with its own APIClient."""
    return run_together(*[lambda: request(APIClient())] * n)


def errors_of(outcomes: list) -> list:
    """The exceptions among `run_together`'s outcomes (None where the work returned)."""
    return [outcome if isinstance(outcome, Exception) else None for outcome in outcomes]
