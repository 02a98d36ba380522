"""Routing at India scale: import time, memory and decisions per second, 600 vs 640,000 villages.

    .venv/bin/python bench/routing_bench.py                 # the national run (a few minutes)
    .venv/bin/python bench/routing_bench.py --villages 20000  # a quick look

One run generates two synthetic directories shaped like India's panchayat chain (36 states, ~780
districts, ~7,000 blocks, ~250,000 gram panchayats, 640,000 villages, 2% of them directly under a
block; 2 VCPC members per village, one in fifty inactive; a BCPC per block; DCPU, CWC and SJPU per
district; a state control room), writes them as the CSV files deployers use, imports each with
`gateway.record.directory.import_directory` into a fresh SQLite file, then times `routing.ladder.route`
over the SQL directory for random villages and concerns. The claim under test: a decision costs
the same at 600 villages and at 640,000, because every lookup is an index seek.

The import is timed per part (each pass over a file, phone parsing, writing) by wrapping the
module's own functions, so a slow import says where its time goes without a second run.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.record import db  # noqa: E402
from gateway.record import directory as gateway_directory  # noqa: E402
from gateway.record.routing_directory import SqlDirectory  # noqa: E402
from routing.concerns import KEYS  # noqa: E402
from routing.ladder import route  # noqa: E402
from routing.rules import Rules, load_rules  # noqa: E402

NATIONAL = {"states": 36, "districts": 780, "blocks": 7_000, "gram_panchayats": 250_000, "villages": 640_000}
CODE_BASE = {"state": 0, "district": 1_000, "block": 100_000, "gram_panchayat": 1_000_000, "village": 10_000_000}


@dataclass(frozen=True)
class Shape:
    states: int
    districts: int
    blocks: int
    gram_panchayats: int
    villages: int

    @classmethod
    def scaled(cls, villages: int) -> Shape:
        """India's proportions at `villages`, never fewer than one place per level."""
        ratio = villages / NATIONAL["villages"]
        counts = {level: max(1, round(count * ratio)) for level, count in NATIONAL.items()}
        counts["villages"] = villages
        return cls(**counts)


@dataclass
class Result:
    label: str
    shape: Shape
    places: int = 0
    contacts: int = 0
    import_s: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    part_memory: dict[str, float] = field(default_factory=dict)  # MB each part added to the peak RSS
    rss_after_import_mb: float = 0.0
    decisions: dict[str, float] = field(default_factory=dict)  # mode -> decisions per second


def code(level: str, index: int) -> int:
    return CODE_BASE[level] + index + 1


def place_rows(shape: Shape) -> Iterator[tuple[int, str, str, int | str]]:
    """States, districts, blocks, gram panchayats, villages: parents first, spread evenly."""
    for s in range(shape.states):
        yield code("state", s), "state", f"State {s + 1}", ""
    for d in range(shape.districts):
        yield code("district", d), "district", f"District {d + 1}", code("state", d % shape.states)
    for b in range(shape.blocks):
        yield code("block", b), "block", f"Block {b + 1}", code("district", b % shape.districts)
    for g in range(shape.gram_panchayats):
        yield code("gram_panchayat", g), "gram_panchayat", f"Panchayat {g + 1}", code("block", g % shape.blocks)
    for v in range(shape.villages):
        parent = code("block", v % shape.blocks) if v % 50 == 7 else code("gram_panchayat", v % shape.gram_panchayats)
        yield code("village", v), "village", f"Village {v + 1}", parent


ContactRow = tuple[str, str, str, int, str, str, str]


def contact_rows(shape: Shape) -> Iterator[ContactRow]:
    phones = iter(range(7_000_000_000, 9_999_999_999))  # distinct Indian mobile numbers

    def contact(name: str, unit: str, place: int, role: str, active: bool = True) -> ContactRow:
        return name, f"+91{next(phones)}", unit, place, role, "hi", "yes" if active else "no"

    for s in range(shape.states):
        yield contact(f"Control room {s + 1}", "CHILDLINE", code("state", s), "SCPS")
    for d in range(shape.districts):
        for unit, role in (("DCPU", "DCPO"), ("CWC", "chairperson"), ("SJPU", "inspector")):
            yield contact(f"{unit} {d + 1}", unit, code("district", d), role)
    for b in range(shape.blocks):
        yield contact(f"BCPC {b + 1}", "BCPC", code("block", b), "member-secretary")
    for v in range(shape.villages):
        yield contact(f"Anganwadi worker {v + 1}", "VCPC", code("village", v), "member-secretary")
        yield contact(f"Ward member {v + 1}", "VCPC", code("village", v), "member", active=v % 50 != 3)


def write_csvs(shape: Shape, folder: Path) -> tuple[Path, Path]:
    places, contacts = folder / "places.csv", folder / "contacts.csv"
    with places.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(gateway_directory.PLACE_COLUMNS)
        writer.writerows(place_rows(shape))
    with contacts.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(gateway_directory.CONTACT_COLUMNS)
        writer.writerows(contact_rows(shape))
    return places, contacts


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class PartTimer:
    """Wraps the import module's own steps, so one import says where its time and memory went."""

    NAMES = ("existing_places", "_index_places", "_resolve_parents", "_write_places", "_import_contacts", "_upsert", "to_e164")
    # Parts that run inside another part: their time is taken out of the outer one in the report.
    NESTED = {"_write_places": ("_upsert(place)",), "_import_contacts": ("_upsert(contact)", "to_e164")}

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.peak_growth_mb: dict[str, float] = defaultdict(float)  # how far each part pushed the peak RSS
        self._originals: dict[str, Callable[..., Any]] = {}

    def __enter__(self) -> PartTimer:
        for name in self.NAMES:
            original = getattr(gateway_directory, name)
            self._originals[name] = original
            setattr(gateway_directory, name, self._timed(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            setattr(gateway_directory, name, original)

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        per_call_only = name == "to_e164"  # a million calls: time them, leave getrusage out

        def timed(*args: Any, **kwargs: Any) -> Any:
            peak, start = (0.0 if per_call_only else peak_rss_mb()), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                label = _part_label(name, args)
                self.seconds[label] += time.perf_counter() - start
                if not per_call_only:
                    self.peak_growth_mb[label] += peak_rss_mb() - peak

        return timed


def _part_label(name: str, args: tuple[Any, ...]) -> str:
    if name == "_upsert":
        return f"_upsert({args[1].name})"
    return name


def import_into(result: Result, folder: Path) -> Any:
    folder.mkdir()
    places, contacts = write_csvs(result.shape, folder)
    engine = db.make_engine(f"sqlite:///{folder / 'directory.db'}")
    db.upgrade(engine)
    with PartTimer() as parts:
        start = time.perf_counter()
        summary = gateway_directory.import_directory(engine, places, contacts)
        result.import_s = time.perf_counter() - start
    result.parts = dict(parts.seconds)
    result.part_memory = dict(parts.peak_growth_mb)
    # Reading and checking contacts includes parsing their phones and writing them: report the rest on its own.
    for outer, inners in PartTimer.NESTED.items():
        for inner in inners:
            if outer in result.parts and inner in result.parts:
                result.parts[outer] -= result.parts[inner]
    result.places, result.contacts = summary.places, summary.contacts
    result.rss_after_import_mb = peak_rss_mb()
    return engine


def decisions_per_second(engine: Any, shape: Shape, rules: Rules, count: int, cache_size: int, seed: int) -> float:
    rng = random.Random(seed)
    directory = SqlDirectory(engine, cache_size=cache_size)
    villages = [code("village", rng.randrange(shape.villages)) for _ in range(count)]
    asks = [(village, rng.choice(KEYS), rng.random() < 0.3) for village in villages]
    for village, concern, urgent in asks[: count // 10]:  # warm the connection pool and the page cache
        route(village, concern, urgent, directory, rules)
    start = time.perf_counter()
    for village, concern, urgent in asks:
        ladder = route(village, concern, urgent, directory, rules)
        assert ladder.steps, (village, concern)
    return count / (time.perf_counter() - start)


def measure(results: list[tuple[Result, Any]], rules: Rules, count: int, seed: int, rounds: int = 3) -> None:
    """Median of rounds taken in turn, so that a noisy neighbour or a CPU clock change hits both sizes."""
    for mode, cache_size in (("uncached", 0), ("cached", 2048)):
        samples: dict[str, list[float]] = defaultdict(list)
        for round_ in range(rounds):
            for result, engine in results:
                rate = decisions_per_second(engine, result.shape, rules, count, cache_size, seed + round_)
                samples[result.label].append(rate)
        for result, _ in results:
            result.decisions[mode] = statistics.median(samples[result.label])


def report(small: Result, large: Result) -> str:
    lines = [
        "| directory | places | contacts | import | peak RSS after import "
        "| decisions/s (no cache) | decisions/s (cache 2048) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in (small, large):
        lines.append(
            f"| {r.label} | {r.places:,} | {r.contacts:,} | {r.import_s:.2f} s | {r.rss_after_import_mb:,.0f} MB "
            f"| {r.decisions['uncached']:,.0f} | {r.decisions['cached']:,.0f} |"
        )
    ratio = small.decisions["uncached"] / large.decisions["uncached"]
    verdict = "ok" if ratio <= 1.5 else "OVER TARGET"
    lines.append(f"\ndecisions/s, {small.label} / {large.label}: {ratio:.2f}x (target <= 1.5x: {verdict})")
    cached = small.decisions["cached"] / large.decisions["cached"]
    lines.append(f"  with the cache: {cached:.2f}x (not the target: all of {small.label} fits in the cache)")
    verdict = "ok" if large.import_s < 120 else "OVER TARGET"
    lines.append(f"import of {large.label}: {large.import_s:.1f} s (target < 120 s: {verdict})")
    peak = peak_rss_mb()
    verdict = "ok" if peak < 1024 else "OVER TARGET"
    lines.append(f"peak RSS of the whole run: {peak:,.0f} MB (target < 1024 MB: {verdict})")
    lines.append(f"\nimport of {large.label}, by part: seconds, and MB it added to the peak RSS")
    parts = dict(large.parts)
    parts["commit and the rest"] = large.import_s - sum(parts.values())
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        memory = f"{large.part_memory[name]:8,.0f} MB" if name in large.part_memory else ""
        lines.append(f"  {name:<28} {seconds:8.1f} s {memory}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--villages", type=int, default=NATIONAL["villages"])
    parser.add_argument("--small", type=int, default=600)
    parser.add_argument("--decisions", type=int, default=3000, help="routing decisions timed per directory")
    parser.add_argument("--seed", type=int, default=384)
    parser.add_argument("--dir", help="where the CSV and SQLite files go (default: the system's temp dir)")
    args = parser.parse_args(argv)
    rules = load_rules()
    small, large = (Result(f"{n:,} villages", Shape.scaled(n)) for n in (args.small, args.villages))
    with tempfile.TemporaryDirectory(prefix="cpgw-bench-", dir=args.dir) as folder:
        engines = [import_into(result, Path(folder) / str(index)) for index, result in enumerate((small, large))]
        measure(list(zip((small, large), engines)), rules, args.decisions, args.seed)
        for engine in engines:
            engine.dispose()
    print(report(small, large))


if __name__ == "__main__":
    main()
