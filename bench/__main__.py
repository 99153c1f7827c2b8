"""`make bench`: every section's figures beside references measured in the same run.

Each module in SECTIONS exposes `run(args) -> list[Row]`. Loopback only, bounded in time.
Pass section names to run a subset: `make bench BENCH_ARGS="http accounts"`.
"""

from __future__ import annotations

import argparse
import importlib
import traceback

from bench.core import print_table

SECTIONS = ["http", "accounts", "messaging", "calendars", "creators", "transcription"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", default=SECTIONS, help=f"subset of {SECTIONS}")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load measurement")
    args = parser.parse_args()
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
    if failed:
        print(f"\n[bench] sections that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
