"""A whole state's LGD downloads, converted and imported: seconds and peak memory, first and again.

    .venv/bin/python bench/lgd_import_bench.py                    # a state of 45,000 villages
    .venv/bin/python bench/lgd_import_bench.py --villages 5000     # a quick look
    .venv/bin/python bench/lgd_import_bench.py --convert-only      # gateway.record.lgd alone

One run writes a synthetic state in the shape lgdirectory.gov.in publishes (`gateway.devtools.lgd_files`:
BOM, title lines, quoted fields, drifting headers, its quirks; about 24 districts, 290 blocks, 4,000
gram panchayats at 45,000 villages) into a temp dir, then:
- times `gateway.record.lgd.convert_lgd` alone, in this process (target: a few seconds);
- in a fresh CPGW_DATA_DIR, runs `cpgw db upgrade`, then `cpgw directory import-lgd <every file>`
  twice, as a deployer would. Each import runs under a small wrapper process that reads its child's
  wall time and peak RSS (`getrusage(RUSAGE_CHILDREN).ru_maxrss`, the child being the only one it
  ever waits for). Targets: under 60 s and under 1 GB each.

Checks: the first import adds as many places as the conversion wrote, and the table then holds that
many; the re-import adds and changes nothing, and the place table's content is byte for byte the same.
Results go to bench/out/lgd_import.json. Exit status: 0 PASS, 1 FAIL, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from gateway.devtools.lgd_files import shape_for, write_lgd_state
from gateway.record.lgd import convert_lgd

OUT = BENCH / "out" / "lgd_import.json"
CPGW = REPO / ".venv" / "bin" / "cpgw"
TARGET_IMPORT_S, TARGET_RSS_MB, TARGET_CONVERT_S = 60.0, 1024.0, 5.0
IMPORTED = re.compile(r"Imported (\d+) places \((\d+) added, (\d+) changed\)")
# Runs argv[2:] and writes its wall time and peak RSS to argv[1]. A fresh process, so that
# RUSAGE_CHILDREN holds the import and nothing else this benchmark started.
WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[2:], capture_output=True, text=True)
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"seconds": seconds, "peak_rss_mb": peak_mb, "returncode": done.returncode,
               "stdout": done.stdout, "stderr": done.stderr}, out)
"""


@dataclass
class Import:
    label: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    places: int = 0
    added: int = 0
    changed: int = 0
    fingerprint: str = ""  # sha256 of the place table's content (JSON decoded), every column, in key order
    raw_fingerprint: str = ""  # the same over the stored values as they are (JSON text byte for byte)
    rows_in_table: int = 0
    output_tail: str = ""


@dataclass
class Result:
    villages_asked: int
    shape: dict[str, int]
    generate_s: float = 0.0
    convert_s: float = 0.0
    convert_rss_mb: float = 0.0  # this process's peak RSS once converted (generation included)
    read: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    notes: int = 0
    imports: list[Import] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)


def generate_and_convert(result: Result, folder: Path) -> list[Path]:
    started = time.perf_counter()
    paths = list(write_lgd_state(folder / "lgd", **result.shape).values())
    result.generate_s = time.perf_counter() - started
    started = time.perf_counter()
    conversion = convert_lgd(paths, folder / "places.csv")
    result.convert_s = time.perf_counter() - started
    result.convert_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.read, result.written, result.notes = conversion.read, conversion.written, len(conversion.notes)
    return paths


def cpgw_environment(folder: Path) -> dict[str, str]:
    """This environment without any CPGW_ setting, and a data dir of the run's own."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CPGW_")}
    return {**environment, "CPGW_DATA_DIR": str(folder / "data")}


def timed_import(label: str, paths: list[Path], folder: Path) -> Import:
    measured = folder / f"{label}.json"
    command = [str(CPGW), "directory", "import-lgd", *map(str, paths), "--notes", str(folder / f"{label}-notes.txt")]
    subprocess.run([sys.executable, "-c", WRAPPER, str(measured), *command], cwd=folder, env=cpgw_environment(folder),
                   check=True)
    child = json.loads(measured.read_text(encoding="utf-8"))
    if child["returncode"] != 0:
        missing = "No such command" in child["stderr"]
        reason = "`cpgw directory import-lgd` does not exist yet" if missing else child["stderr"].strip()[-2000:]
        raise SystemExit(f"{label} import failed (exit {child['returncode']}): {reason}")
    found = IMPORTED.search(child["stdout"])
    if not found:
        raise SystemExit(f"{label} import printed no 'Imported N places (A added, C changed)': {child['stdout'][-500:]}")
    run = Import(label, child["seconds"], child["peak_rss_mb"], *map(int, found.groups()))
    run.output_tail = "\n".join(child["stdout"].splitlines()[-14:])
    run.fingerprint, run.raw_fingerprint, run.rows_in_table = fingerprint(folder / "data" / "cpgw.db")
    return run


def fingerprint(database: Path) -> tuple[str, str, int]:
    """Hashes of every place row, every column, in key order: equal hashes, an unchanged table.

    The first decodes JSON columns (`names`), so that the same content spelled with other spacing
    counts as unchanged; the second is over the stored text, for the record.
    """
    content, raw, rows = hashlib.sha256(), hashlib.sha256(), 0
    connection = sqlite3.connect(database)
    try:
        for row in connection.execute("SELECT * FROM place ORDER BY level, lgd_code"):
            raw.update(repr(row).encode())
            content.update(repr(tuple(map(_decoded, row))).encode())
            rows += 1
    finally:
        connection.close()
    return content.hexdigest(), raw.hexdigest(), rows


def _decoded(value: object) -> object:
    if isinstance(value, str) and value[:1] in "{[":
        return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
    return value


def import_twice(result: Result, paths: list[Path], folder: Path) -> None:
    upgrade = subprocess.run([str(CPGW), "db", "upgrade"], cwd=folder, env=cpgw_environment(folder),
                             capture_output=True, text=True, check=False)
    if upgrade.returncode != 0:
        raise SystemExit(f"cpgw db upgrade failed: {upgrade.stderr.strip()[-2000:]}")
    for label in ("first", "again"):
        print(f"{label} import ...", flush=True)
        result.imports.append(timed_import(label, paths, folder))


def check(result: Result) -> None:
    written = sum(result.written.values())
    result.checks["convert within target"] = result.convert_s < TARGET_CONVERT_S
    if not result.imports:
        return
    first, again = result.imports
    result.checks["first import adds every place converted"] = first.added == written == first.rows_in_table
    result.checks["re-import adds and changes nothing"] = again.added == again.changed == 0
    result.checks["re-import leaves the table as it was"] = again.fingerprint == first.fingerprint
    for run in result.imports:
        result.checks[f"{run.label} import under {TARGET_IMPORT_S:.0f} s"] = run.seconds < TARGET_IMPORT_S
        result.checks[f"{run.label} import under {TARGET_RSS_MB:.0f} MB"] = run.peak_rss_mb < TARGET_RSS_MB


def report(result: Result) -> str:
    levels = ", ".join(f"{level} {count:,}" for level, count in result.written.items())
    lines = [f"state: {levels}",
             (f"generate: {result.generate_s:.2f} s; convert_lgd alone: {result.convert_s:.2f} s "
              f"(peak RSS of this process {result.convert_rss_mb:,.0f} MB; {result.notes} notes)")]
    for run in result.imports:
        lines.append(f"{run.label:>5} import: {run.seconds:6.2f} s, peak RSS {run.peak_rss_mb:6,.0f} MB, "
                     f"{run.places:,} places ({run.added:,} added, {run.changed:,} changed)")
    lines += [f"  {'ok  ' if passed else 'FAIL'} {name}" for name, passed in result.checks.items()]
    if len(result.imports) == 2 and result.imports[0].raw_fingerprint != result.imports[1].raw_fingerprint:
        lines.append("  note: the re-import rewrote stored JSON text (same content, other spelling)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--villages", type=int, default=45_000, help="about this many villages in the state")
    parser.add_argument("--convert-only", action="store_true", help="time convert_lgd alone, no cpgw")
    parser.add_argument("--dir", help="where the temp dir goes (default: the system's temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the files, the database and the notes")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = Result(args.villages, shape_for(args.villages))
    folder = Path(tempfile.mkdtemp(prefix="cpgw-lgd-bench-", dir=args.dir))
    try:
        paths = generate_and_convert(result, folder)
        if not args.convert_only:
            import_twice(result, paths, folder)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    check(result)
    print(report(result))
    passed = all(result.checks.values())
    print("PASS" if passed else "FAIL")
    write_json(args.out, result, passed)
    return 0 if passed else 1


def write_json(out: Path, result: Result, passed: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {
        "benchmark": "lgd_import", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "targets": {"import_s": TARGET_IMPORT_S, "rss_mb": TARGET_RSS_MB, "convert_s": TARGET_CONVERT_S},
        **asdict(result), "pass": passed,
    }
    out.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


if __name__ == "__main__":
    from exits import (
        run_benchmark,  # bench/ is on sys.path when a benchmark runs as a script
    )

    run_benchmark(main)
