"""Creator search and stats latency at two table sizes, in-process through the full Django stack.

With DATABASE_URL pointing at PostgreSQL: a scratch database (created and dropped here) seeded
with 10,000 and then 100,000 demo creators. Without it: a scratch SQLite file with 2,000 and
20,000 creators (said so in the notes), since SQLite has no GIN/trigram indexes to measure.

Each size runs a fixed mix of text queries and filters through `django.test.Client` (middleware,
bearer auth, validation, the selector, COUNT for pagination and serialization: everything but the
socket) for `--duration` seconds. References sit beside each figure: the detail route (an indexed
primary-key read through the same stack) for the small size, and the small size itself for the
large one, so the ratio reads as how p50 grows with ten times the rows.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from bench.core import Row, bench_env, child_figures, scratch_database

SECTION = "creators"
QUERY_MIX = [
    ("text", {"q": "fitness"}),
    ("text", {"q": "yoga run"}),
    ("text", {"q": "recetas"}),
    ("handle", {"q": "sunnyana"}),
    ("handle", {"q": "sunyana_12"}),  # typo: trigram similarity
    ("filter", {"platform": "tiktok", "min_followers": "100000"}),
    ("filter", {"category": "food", "country": "US", "ordering": "-engagement"}),
    ("filter", {"min_followers": "1000", "max_followers": "50000", "ordering": "-engagement"}),
    ("text+filter", {"q": "travel", "language": "en", "min_engagement": "2"}),
    ("list", {}),
]
CHILD_TIMEOUT_S = 540


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _measure(fn, duration: float, *, min_runs: int = 5, max_runs: int = 2_000) -> list[float]:
    """Latencies in ms of `fn()` repeated for `duration` seconds (bounded in count both ways)."""
    samples: list[float] = []
    deadline = time.monotonic() + duration
    while len(samples) < max_runs and (len(samples) < min_runs or time.monotonic() < deadline):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def child(sizes: list[int], duration: float) -> list[dict]:
    """Runs inside the scratch database's process: seed, measure, report rows as dicts."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    from creators import demo
    from creators.models import Creator

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False  # no per-query logging overhead in the figures
    results: dict[int, dict[str, float]] = {}
    notes: dict[str, str] = {}
    for size in sizes:
        started = time.monotonic()
        seeded = demo.seed(creators=size, demo_credits=10)
        seed_s = time.monotonic() - started
        if connection.vendor == "postgresql":
            # Fresh rows: set hint bits and the visibility map and refresh planner statistics, so
            # the first size is not measured against a table the second one never sees.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) creators_creator, creators_creatorpost, creators_unlock")
        user = get_user_model().objects.get(email=demo.DEMO_EMAIL)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        some_id = Creator.objects.order_by("pk").values_list("pk", flat=True)[size // 2]

        def get(path, params=None, _client=client):
            response = _client.get(path, params or {})
            assert response.status_code == 200, response.content[:300]
            return response

        for _round in range(2):  # warm caches and plans
            for _kind, params in QUERY_MIX:
                get("/api/v1/simple/creator/search", params)
        per_query = max(duration / len(QUERY_MIX), 0.2)
        by_kind: dict[str, list[float]] = {}
        every: list[float] = []
        for kind, params in QUERY_MIX:
            samples = _measure(lambda p=params: get("/api/v1/simple/creator/search", p), per_query)
            by_kind.setdefault(kind, []).extend(samples)
            every.extend(samples)
        detail = _measure(lambda pk=some_id: get(f"/api/v1/simple/creator/{pk}"), min(duration, 2.0))
        settings.CREATOR_STATS_CACHE_SECONDS = 0
        stats_uncached = _measure(lambda: get("/api/v1/simple/creator/system/stats"), min(duration, 2.0))
        settings.CREATOR_STATS_CACHE_SECONDS = 5
        cache.clear()
        stats_cached = _measure(lambda: get("/api/v1/simple/creator/system/stats"), min(duration, 2.0))
        results[size] = {
            "search_p50": statistics.median(every), "search_p95": _pct(every, 0.95),
            **{f"{kind}_p50": statistics.median(v) for kind, v in by_kind.items()},
            "detail_p50": statistics.median(detail),
            "stats_p50": statistics.median(stats_uncached), "stats_cached_p50": statistics.median(stats_cached),
            "seed_rows_per_s": (seeded.creators_created + seeded.posts_created) / seed_s if seed_s else 0.0,
            "seed_s": seed_s, "samples": len(every),
        }
    small, large = sizes
    label = {size: f"{size // 1000}k" for size in sizes}
    db = connection.vendor
    notes["db"] = db
    rows = []
    s, big = results[small], results[large]
    rows.append(dict(name=f"search p50 @{label[small]} ({db})", value=s["search_p50"], unit="ms",
                     reference=f"creator detail p50 @{label[small]}", reference_value=s["detail_p50"],
                     higher_is_better=False, note=f"{s['samples']} requests, {len(QUERY_MIX)}-query mix"))
    rows.append(dict(name=f"search p95 @{label[small]} ({db})", value=s["search_p95"], unit="ms",
                     reference=f"creator detail p50 @{label[small]}", reference_value=s["detail_p50"],
                     higher_is_better=False))
    rows.append(dict(name=f"search p50 @{label[large]} ({db})", value=big["search_p50"], unit="ms",
                     reference=f"search p50 @{label[small]}", reference_value=s["search_p50"], higher_is_better=False,
                     note=f"p50 grows {big['search_p50'] / s['search_p50']:.2f}x for {large // small}x rows"))
    rows.append(dict(name=f"search p95 @{label[large]} ({db})", value=big["search_p95"], unit="ms",
                     reference=f"search p95 @{label[small]}", reference_value=s["search_p95"], higher_is_better=False,
                     note=f"{big['samples']} requests"))
    for kind in dict(QUERY_MIX):
        rows.append(dict(name=f"search p50 [{kind}] @{label[large]}", value=big[f"{kind}_p50"], unit="ms",
                         reference=f"same @{label[small]}", reference_value=s[f"{kind}_p50"],
                         higher_is_better=False))
    rows.append(dict(name=f"stats p50 uncached @{label[large]}", value=big["stats_p50"], unit="ms",
                     reference=f"stats p50 uncached @{label[small]}", reference_value=s["stats_p50"],
                     higher_is_better=False, note="2 aggregate queries, constant count"))
    rows.append(dict(name=f"stats p50 cached @{label[large]}", value=big["stats_cached_p50"], unit="ms",
                     reference="stats p50 uncached, same size", reference_value=big["stats_p50"],
                     higher_is_better=False))
    rows.append(dict(name=f"seed_demo to {label[large]} creators", value=big["seed_rows_per_s"], unit="rows/s",
                     reference=f"seed_demo to {label[small]}", reference_value=s["seed_rows_per_s"],
                     note=f"{big['seed_s']:.1f}s for the last {large - small:,} creators with posts"))
    return rows


def run(args) -> list[Row]:
    url = os.environ.get("DATABASE_URL", "")
    duration = float(getattr(args, "duration", 5.0))
    on_postgres = url.split(":", 1)[0].split("+", 1)[0] in {"postgres", "postgresql", "pgsql"}
    if on_postgres:
        sizes, note = "10000,100000", ""
    else:
        sizes, note = "2000,20000", "SQLite fallback (no PostgreSQL DATABASE_URL), smaller sizes"
        print(f"[bench] creators: {note}", flush=True)
    scratch_url, drop = scratch_database("bench_creators")
    env = bench_env(DATABASE_URL=scratch_url, DJANGO_SETTINGS_MODULE="flashlearn.settings", REDIS_URL="")
    env.pop("REDIS_URL")  # locmem cache: this measures the database, not Redis
    try:
        rows = child_figures(["bench.creators", "--child", sizes, str(duration)], env=env, timeout=CHILD_TIMEOUT_S)
    finally:
        drop()
    if note:
        rows[0]["note"] = f"{rows[0].get('note', '')}; {note}".lstrip("; ")
    return [Row(section=SECTION, **row) for row in rows]


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        print(json.dumps(child([int(s) for s in sys.argv[2].split(",")], float(sys.argv[3]))))
    else:
        from types import SimpleNamespace

        from bench.core import print_table

        print_table(run(SimpleNamespace(duration=float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)))
