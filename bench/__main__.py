"""`make bench`: every section's figures beside references measured in the same run.

Each module in SECTIONS exposes `run(args) -> list[Row]`. Loopback only, bounded in time.
Pass section names to run a subset: `make bench BENCH_ARGS="http accounts"`.
The table is also written as JSON to bench/results/<date>.json (`--json PATH` to choose);
`python -m bench compare A.json B.json` prints the ratios between two runs (bench/report.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.core import print_table

SECTIONS = ["http", "accounts", "messaging", "calendars", "creators", "transcription", "tasks"]


def main() -> int:
    if sys.argv[1:2] == ["compare"]:
        from bench.report import compare_main

        return compare_main(sys.argv[2:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", default=SECTIONS, help=f"subset of {SECTIONS}")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load measurement")
    parser.add_argument("--layers", default="pubsub,core", help="messaging: channel layers, comma-separated")
    parser.add_argument("--json", type=Path, default=None, help="where the JSON copy goes "
                        "(default bench/results/<date>.json; compare two with `python -m bench compare A B`)")
    args = parser.parse_args()
    started = datetime.now(UTC)
    rows, failed = [], []
    for name in args.sections:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"[bench] section {name!r} has no module yet; skipped")
            continue
        print(f"[bench] running {name} ...", flush=True)
        try:
            rows.extend(module.run(args))
        except Exception:
            traceback.print_exc()
            failed.append(name)
    print()
    print_table(rows)
    if rows:
        from bench.report import save

        path = save(rows, {"sections": args.sections, "duration": args.duration, "failed": failed}, args.json,
                    started=started)
        print(f"\n[bench] results written to {path}")
    if failed:
        print(f"\n[bench] sections that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
