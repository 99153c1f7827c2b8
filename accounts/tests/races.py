"""Requests released together from threads, for the tests of races."""

import threading

from django.db import connections
from rest_framework.test import APIClient


def concurrently(request, n: int = 2) -> list:
    """Run `request(client)` in n threads released together; their responses."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(index):
        try:
            barrier.wait(timeout=10)
            results[index] = request(APIClient())
        except Exception as exc:  # surfaces in the assertion below, not as a hung thread
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
