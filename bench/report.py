"""A bench run as JSON, and the comparison of two runs (`python -m bench compare A.json B.json`).

Each run's table is also written to `bench/results/<UTC date and time>.json` (git-ignored):

    {"format": 1, "started": "...", "commit": "...", "args": {...}, "rows": [Row fields + "ratio"]}

A comparison pairs rows by (section, name) and prints two figures per row:
- `B/A`: how B's value compares with A's, oriented so above 1.0 means B is better (faster or more);
- `ratio A -> B`: each run's ratio against its own reference, measured beside it in the same run.
  On a shared machine the load varies between runs, so this is the figure to judge a change by;
  `drift` is B's ratio over A's.
`--fail-below X` exits 1 when any row's drift is under X (e.g. 0.8: 20 % worse against its reference).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.core import ROOT, Row

RESULTS_DIR = ROOT / "bench" / "results"
FORMAT = 1


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def row_dict(row: Row) -> dict:
    return {**dataclasses.asdict(row), "ratio": row.ratio}


def save(rows: list[Row], args: dict, path: Path | None = None, *, started: datetime | None = None) -> Path:
    started = started or datetime.now(UTC)
    if path is None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{started.strftime('%Y-%m-%dT%H%M%SZ')}.json"
    document = {"format": FORMAT, "started": started.isoformat(), "commit": git_commit(), "args": args,
                "rows": [row_dict(r) for r in rows]}
    path.write_text(json.dumps(document, indent=1) + "\n")
    return path


def load(path: str | Path) -> tuple[dict, list[Row]]:
    document = json.loads(Path(path).read_text())
    if document.get("format") != FORMAT:
        raise SystemExit(f"{path}: not a bench result (format {document.get('format')!r}, expected {FORMAT})")
    fields = {f.name for f in dataclasses.fields(Row)}
    rows = [Row(**{k: v for k, v in item.items() if k in fields}) for item in document["rows"]]
    return document, rows


def change(a: Row, b: Row) -> float | None:
    """B against A, above 1.0 when B is better."""
    if not a.value or not b.value:
        return None
    return b.value / a.value if a.higher_is_better else a.value / b.value


def fmt(value: float | None, suffix: str = "x") -> str:
    return "" if value is None else f"{value:.2f}{suffix}"


def compare(path_a: str, path_b: str, *, fail_below: float | None = None) -> int:
    doc_a, rows_a = load(path_a)
    doc_b, rows_b = load(path_b)
    by_key = {(r.section, r.name): r for r in rows_a}
    header = ("section", "benchmark", "A", "B", "unit", "B/A", "ratio A -> B", "drift")
    lines = [header]
    worse: list[str] = []
    for b in rows_b:
        a = by_key.pop((b.section, b.name), None)
        if a is None:
            lines.append((b.section, b.name, "", f"{b.value:,.2f}", b.unit, "", f"- -> {fmt(b.ratio)}", "new"))
            continue
        drift = b.ratio / a.ratio if a.ratio and b.ratio else None
        if fail_below is not None and drift is not None and drift < fail_below:
            worse.append(f"{b.section}: {b.name} ({drift:.2f}x)")
        lines.append((b.section, b.name, f"{a.value:,.2f}", f"{b.value:,.2f}", b.unit, fmt(change(a, b)),
                      f"{fmt(a.ratio) or '-'} -> {fmt(b.ratio) or '-'}", fmt(drift)))
    for a in by_key.values():
        lines.append((a.section, a.name, f"{a.value:,.2f}", "", a.unit, "", "", "gone"))
    print(f"A: {path_a} ({doc_a.get('started', '?')}, {doc_a.get('commit') or '?'})")
    print(f"B: {path_b} ({doc_b.get('started', '?')}, {doc_b.get('commit') or '?'})")
    print("B/A above 1.0: B is better; drift: B's ratio to its reference over A's (the load-independent figure)\n")
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    if worse:
        print(f"\n[bench] {len(worse)} figure(s) drifted below {fail_below:.2f}x of A against their reference:")
        for item in worse:
            print(f"  {item}")
        return 1
    return 0


def compare_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", help="the earlier run's JSON (bench/results/...)")
    parser.add_argument("b", help="the later run's JSON")
    parser.add_argument("--fail-below", type=float, default=None,
                        help="exit 1 when a row's ratio to its reference fell below this fraction of A's")
    args = parser.parse_args(argv)
    return compare(args.a, args.b, fail_below=args.fail_below)


if __name__ == "__main__":
    sys.exit(compare_main(sys.argv[1:]))
