"""Real-shaped Local Government Directory downloads for a synthetic state, for tests and benchmarks.

    python -m gateway.devtools.lgd_files DIR                     # a state of about 45,000 villages
    python -m gateway.devtools.lgd_files DIR --villages 2000 --state-code 19 --state-name "WEST BENGAL" --lang bn

The files are shaped as lgdirectory.gov.in publishes them ("Download Directory"), since that is
what `gateway.record.lgd` must read: UTF-8 with a byte-order mark, a title line above the header,
every field quoted, an `S.No.` column, ALL-CAPS English names, local names in the state's script,
blank lines at the end. One file per kind: states, districts, sub_districts, blocks, villages,
gp_mapping, pri_local_bodies (district and intermediate panchayats as well as gram panchayats),
urban_local_bodies, wards.

Codes look like LGD's (districts 3 digits, blocks and sub-districts 4, gram panchayats and villages
6, urban bodies 5, wards 6) and are unique per level; a state's ranges are set by its code modulo 9,
so two states whose codes differ modulo 9 (Jharkhand 20, West Bengal 19, Rajasthan 8) can be
converted together, as long as each keeps to a real state's size (under 100 districts, 500
blocks, 60,000 villages); a larger one stays unique per level but spills into the next ranges.

With `quirks=True` the files carry what real downloads do (each needs enough places to exist):
- header drift: `Subdistrict Code`, `Sub District Code`, `(In Englsih)`, `(In Local Language)`;
- the first village of the second panchayat of the first block is mapped to the first panchayat
  too (a lower code), so it sits in two panchayats;
- one more village whose sub-district and gram panchayat are both in no file (an orphan);
- the first block of the last district has the first district's code;
- the last gram panchayat has the first village's code;
- the gram panchayats of the last block have no Block Code in the PRI file (the mapping has it).
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("states", "districts", "sub_districts", "blocks", "villages", "gp_mapping", "pri_local_bodies",
         "urban_local_bodies", "wards")
TITLES = {"states": "States of India", "districts": "Districts of {state}", "sub_districts": "Sub-Districts of {state}",
          "blocks": "Blocks of {state}", "villages": "Villages of {state}",
          "gp_mapping": "Gram Panchayat Mapping to village of {state}", "pri_local_bodies": "PRI Local Bodies of {state}",
          "urban_local_bodies": "Urban Local Bodies of {state}", "wards": "Wards of {state}"}
REPORTED_ON = "Report generated on 05-12-2026"
STATE_NAMES = {20: ("झारखण्ड", "ঝাড়খণ্ড"), 19: ("पश्चिम बंगाल", "পশ্চিমবঙ্গ"), 8: ("राजस्थान", "রাজস্থান")}
URBAN_TYPES = ("Municipal Corporation", "Municipality", "Nagar Panchayat", "Notified Area Committee")
SCRIPT_INDEX = {"hi": 1, "bn": 2}  # which spelling of a syllable below

# (Latin, Devanagari, Bengali): a consonant, a vowel sign, a place-name ending.
CONSONANTS = (("K", "क", "ক"), ("KH", "ख", "খ"), ("G", "ग", "গ"), ("CH", "च", "চ"), ("J", "ज", "জ"),
              ("T", "त", "ত"), ("D", "द", "দ"), ("DH", "ध", "ধ"), ("N", "न", "ন"), ("P", "प", "প"),
              ("B", "ब", "ব"), ("BH", "भ", "ভ"), ("M", "म", "ম"), ("R", "र", "র"), ("L", "ल", "ল"),
              ("S", "स", "স"), ("H", "ह", "হ"))
VOWELS = (("A", "", ""), ("A", "ा", "া"), ("I", "ि", "ি"), ("U", "ु", "ু"), ("E", "े", "ে"), ("O", "ो", "ো"))
ENDINGS = (("PUR", "पुर", "পুর"), ("GANJ", "गंज", "গঞ্জ"), ("NAGAR", "नगर", "নগর"), ("DIH", "डीह", "ডিহ"),
           ("TOLI", "टोली", "টোলি"), ("GARH", "गढ़", "গড়"), ("BARI", "बाड़ी", "বাড়ি"))
SYLLABLES = tuple((c[0] + v[0], c[1] + v[1], c[2] + v[2]) for c in CONSONANTS for v in VOWELS)

# Headers as published; `quirks` swaps in the drifted spellings.
HEADERS: dict[str, tuple[str, ...]] = {
    "states": ("S.No.", "State Code", "State Version", "State Name (In English)", "State Name (In Local language)",
               "Census2011 Code", "State or UT"),
    "districts": ("S.No.", "State Code", "State Name (In English)", "District Code", "District Version",
                  "District Name (In English)", "District Name (In Local language)", "Census 2011 Code"),
    "sub_districts": ("S.No.", "State Code", "State Name", "District Code", "District Name", "Sub-District Code",
                      "Sub-District Version", "Sub-District Name (In English)",
                      "Sub-District Name (In Local language)", "Census 2011 Code"),
    "blocks": ("S.No.", "State Code", "State Name", "District Code", "District Name (In English)", "Block Code",
               "Block Version", "Block Name (In English)", "Block Name (In Local language)"),
    "villages": ("S.No.", "State Code", "State Name (In English)", "District Code", "District Name (In English)",
                 "Sub-District Code", "Sub-District Name (In English)", "Village Code", "Village Version",
                 "Village Name (In English)", "Village Name (In Local language)", "Village Category",
                 "Village Status", "Census 2011 Code"),
    "gp_mapping": ("S.No.", "State Code", "State Name", "District Code", "District Name", "Block Code", "Block Name",
                   "Local Body Code", "Local Body Name (In English)", "Village Code", "Village Name (In English)"),
    "pri_local_bodies": ("S.No.", "State Code", "State Name", "Local Body Code", "Local Body Version",
                         "Local Body Name (In English)", "Local Body Name (In Local language)",
                         "Local Body Type Name", "Parent Local Body Code", "District Code", "Block Code"),
    "urban_local_bodies": ("S.No.", "State Code", "State Name", "District Code", "District Name", "Local Body Code",
                           "Local Body Version", "Local Body Name (In English)",
                           "Local Body Name (In Local language)", "Local Body Type Name"),
    "wards": ("S.No.", "State Code", "District Code", "Local Body Code", "Local Body Name (In English)", "Ward Code",
              "Ward Version", "Ward Number", "Ward Name (In English)", "Ward Name (In Local language)"),
}
DRIFT: dict[str, dict[str, str]] = {
    "sub_districts": {"Sub-District Code": "Subdistrict Code", "Sub-District Name (In English)": "Subdistrict Name"},
    "villages": {"Sub-District Code": "Sub District Code", "Village Name (In English)": "Village Name (In Englsih)"},
    "blocks": {"Block Name (In Local language)": "Block Name (In Local Language)"},
}

# Per-level code ranges: first code + a state's slot (its code modulo 9) times the stride.
CODE_RANGES = {"district": (100, 100), "sub_district": (1500, 1000), "block": (1000, 1000),
               "gram_panchayat": (100_000, 100_000), "upper_panchayat": (190_000, 100_000),
               "urban_local_body": (10_000, 1000), "ward": (500_000, 10_000)}
VILLAGES_AFTER_PANCHAYATS = 30_000  # villages start this far past the first panchayat code (or past the last)
PER_DISTRICT = {"blocks_per_district": 12, "panchayats_per_block": 14, "villages_per_panchayat": 11}


@dataclass(frozen=True)
class Named:
    """A place's code, ALL-CAPS English name and local name."""

    code: int
    name: str
    local: str


class _Names:
    """Plausible place names: two or three syllables and often a common ending, in two scripts."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng, self.script = rng, SCRIPT_INDEX[lang]

    def __call__(self) -> tuple[str, str]:
        parts = self.rng.choices(SYLLABLES, k=self.rng.choice((2, 2, 3)))
        if self.rng.random() < 0.4:
            parts.append(self.rng.choice(ENDINGS))
        return "".join(part[0] for part in parts), "".join(part[self.script] for part in parts)


class _Writers:
    """One open CSV per kind, as LGD writes them: BOM, title line(s), every field quoted, S.No."""

    def __init__(self, stack: ExitStack, directory: Path, state: str, quirks: bool) -> None:
        self.paths = {kind: directory / f"{kind}.csv" for kind in KINDS}
        self.writers: dict[str, Any] = {}
        self.counts = dict.fromkeys(KINDS, 0)
        for kind, path in self.paths.items():
            handle = stack.enter_context(path.open("w", encoding="utf-8-sig", newline=""))
            stack.callback(handle.write, "\r\n\r\n")  # the blank lines a spreadsheet export ends with
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            writer.writerow([TITLES[kind].format(state=state)])
            if kind == "villages":
                writer.writerow([REPORTED_ON])
            drift = DRIFT.get(kind, {}) if quirks else {}
            writer.writerow([drift.get(column, column) for column in HEADERS[kind]])
            self.writers[kind] = writer

    def add(self, kind: str, *values: object) -> None:
        self.counts[kind] += 1
        self.writers[kind].writerow((self.counts[kind], *values))


def _code(level: str, slot: int, index: int) -> int:
    first, stride = CODE_RANGES[level]
    return first + slot * stride + index


def write_lgd_state(directory: Path, *, state_code: int = 20, state_name: str = "JHARKHAND", lang: str = "hi",
                    districts: int = 3, blocks_per_district: int = 4, panchayats_per_block: int = 5,
                    villages_per_panchayat: int = 6, urban_bodies_per_district: int = 1, wards_per_body: int = 5,
                    quirks: bool = True, seed: int = 0) -> dict[str, Path]:
    """Write one LGD download per kind for a synthetic state into `directory`; returns kind → path."""
    if lang not in SCRIPT_INDEX:
        raise ValueError(f"lang must be one of {', '.join(SCRIPT_INDEX)}, not {lang!r}")
    directory.mkdir(parents=True, exist_ok=True)
    shape = _Shape(state_code, state_name, districts, blocks_per_district, panchayats_per_block,
                   villages_per_panchayat, urban_bodies_per_district, wards_per_body, quirks)
    with ExitStack() as stack:
        out = _Writers(stack, directory, state_name, quirks)
        _State(shape, out, _Names(random.Random(f"{seed}:{state_code}"), lang), lang).write()
    return out.paths


@dataclass(frozen=True)
class _Shape:
    state_code: int
    state_name: str
    districts: int
    blocks_per_district: int
    panchayats_per_block: int
    villages_per_panchayat: int
    urban_bodies_per_district: int
    wards_per_body: int
    quirks: bool

    @property
    def slot(self) -> int:
        return self.state_code % 9

    @property
    def blocks(self) -> int:
        return self.districts * self.blocks_per_district

    @property
    def panchayats(self) -> int:
        return self.blocks * self.panchayats_per_block

    def village_code(self, index: int) -> int:
        first = _code("gram_panchayat", self.slot, 0) + max(VILLAGES_AFTER_PANCHAYATS, self.panchayats + 2)
        return first + index

    @property
    def missing_panchayat(self) -> int:
        """Just below the first village's code: past every panchayat's, and not the one numbered like a village."""
        return self.village_code(0) - 1


class _State:
    """Walks districts → blocks → panchayats → villages once, writing each row where it belongs."""

    def __init__(self, shape: _Shape, out: _Writers, names: _Names, lang: str) -> None:
        self.shape, self.out, self.names = shape, out, names
        local = STATE_NAMES.get(shape.state_code)
        self.state = Named(shape.state_code, shape.state_name, local[SCRIPT_INDEX[lang] - 1] if local else names()[1])
        self.block_index = self.panchayat_index = self.village_index = 0
        self.first_panchayat: Named | None = None

    def _named(self, code: int) -> Named:
        return Named(code, *self.names())

    def write(self) -> None:
        s = self.state
        self.out.add("states", s.code, 1, s.name, s.local, s.code, "State")
        for index in range(self.shape.districts):
            district = self._named(_code("district", self.shape.slot, index))
            self.out.add("districts", s.code, s.name, district.code, 1, district.name, district.local,
                         300 + district.code % 700)
            self._district(index, district)
        if self.shape.quirks:
            self._orphan_village()

    def _district(self, index: int, district: Named) -> None:
        s = self.state
        zila = _code("upper_panchayat", self.shape.slot, index)
        self.out.add("pri_local_bodies", s.code, s.name, zila, 1, f"{district.name} ZILA PARISHAD", "",
                     "District Panchayat", "", district.code, "")
        for number in range(self.shape.blocks_per_district):
            self._block(district, number, zila)
        for number in range(self.shape.urban_bodies_per_district):
            self._urban_body(district, index * self.shape.urban_bodies_per_district + number)

    def _block_code(self, district: Named, number: int) -> int:
        if self.shape.quirks and number == 0 and district.code == _code("district", self.shape.slot,
                                                                         self.shape.districts - 1):
            return _code("district", self.shape.slot, 0)  # a block numbered like a district
        return _code("block", self.shape.slot, self.block_index)

    def _block(self, district: Named, number: int, zila: int) -> None:
        s = self.state
        block = self._named(self._block_code(district, number))
        sub_district = Named(_code("sub_district", self.shape.slot, self.block_index), *self.names())
        intermediate = _code("upper_panchayat", self.shape.slot, 50_000 + self.block_index)
        self.block_index += 1
        self.out.add("blocks", s.code, s.name, district.code, district.name, block.code, 1, block.name, block.local)
        self.out.add("sub_districts", s.code, s.name, district.code, district.name, sub_district.code, 1,
                     sub_district.name, sub_district.local, "")
        self.out.add("pri_local_bodies", s.code, s.name, intermediate, 1, f"{block.name} PANCHAYAT SAMITI", "",
                     "Intermediate Panchayat", zila, district.code, block.code)
        last_block = self.block_index == self.shape.blocks
        for _ in range(self.shape.panchayats_per_block):
            self._panchayat(district, block, sub_district, intermediate, last_block)

    def _panchayat_code(self) -> int:
        if self.shape.quirks and self.panchayat_index == self.shape.panchayats - 1 and self.panchayat_index:
            return self.shape.village_code(0)  # a panchayat numbered like a village
        return _code("gram_panchayat", self.shape.slot, self.panchayat_index)

    def _panchayat(self, district: Named, block: Named, sub_district: Named, intermediate: int,
                   last_block: bool) -> None:
        s = self.state
        panchayat = self._named(self._panchayat_code())
        self.first_panchayat = self.first_panchayat or panchayat
        block_column = "" if self.shape.quirks and last_block else block.code
        self.out.add("pri_local_bodies", s.code, s.name, panchayat.code, 1, panchayat.name, panchayat.local,
                     "Village Panchayat", intermediate, district.code, block_column)
        for _ in range(self.shape.villages_per_panchayat):
            village = self._named(self.shape.village_code(self.village_index))
            self._village(district, block, sub_district, panchayat, village)
            first = self.first_panchayat
            if self.shape.quirks and first and self.village_index == self.shape.villages_per_panchayat:
                self._map(district, block, first, village)  # the second panchayat's first village, in the first too
            self.village_index += 1
        self.panchayat_index += 1

    def _village(self, district: Named, block: Named, sub_district: Named, panchayat: Named, village: Named) -> None:
        s = self.state
        inhabited = "Uninhabited" if village.code % 29 == 0 else "Inhabited"
        self.out.add("villages", s.code, s.name, district.code, district.name, sub_district.code, sub_district.name,
                     village.code, 1, village.name, village.local, "Rural", inhabited, 300_000 + village.code % 600_000)
        self._map(district, block, panchayat, village)

    def _map(self, district: Named, block: Named, panchayat: Named, village: Named) -> None:
        s = self.state
        self.out.add("gp_mapping", s.code, s.name, district.code, district.name, block.code, block.name,
                     panchayat.code, panchayat.name, village.code, village.name)

    def _orphan_village(self) -> None:
        """A village whose sub-district and gram panchayat are in no file."""
        district = Named(_code("district", self.shape.slot, 0), "", "")
        village = self._named(self.shape.village_code(self.village_index))
        missing_sub_district = Named(_code("sub_district", self.shape.slot, self.shape.blocks), *self.names())
        missing_panchayat = Named(self.shape.missing_panchayat, *self.names())
        block = Named(_code("block", self.shape.slot, 0), "", "")
        self._village(district, block, missing_sub_district, missing_panchayat, village)

    def _urban_body(self, district: Named, index: int) -> None:
        s = self.state
        body = self._named(_code("urban_local_body", self.shape.slot, index))
        kind = URBAN_TYPES[index % len(URBAN_TYPES)]
        self.out.add("urban_local_bodies", s.code, s.name, district.code, district.name, body.code, 1, body.name,
                     body.local, kind)
        for number in range(1, self.shape.wards_per_body + 1):
            ward = self._named(_code("ward", self.shape.slot, index * 100 + number))
            named = number % 2 == 1  # many wards are published with a number and no name
            self.out.add("wards", s.code, district.code, body.code, body.name, ward.code, 1, number,
                         ward.name if named else "", ward.local if named else "")


def shape_for(villages: int) -> dict[str, int]:
    """write_lgd_state's counts for a state of about `villages` villages, in Jharkhand's proportions
    (12 blocks a district, 14 panchayats a block, 11 villages a panchayat), shrunk for small states."""
    counts = dict(PER_DISTRICT)
    per_district = counts["blocks_per_district"] * counts["panchayats_per_block"] * counts["villages_per_panchayat"]
    districts = max(1, round(villages / per_district))
    if districts == 1:
        return {"districts": 1, **_shrink(villages)}
    per_panchayat = villages / (districts * counts["blocks_per_district"] * counts["panchayats_per_block"])
    return {"districts": districts, **counts, "villages_per_panchayat": max(1, round(per_panchayat))}


def _shrink(villages: int) -> dict[str, int]:
    """One district's counts for fewer villages than a district has: blocks go first, then panchayats."""
    per_panchayat = PER_DISTRICT["villages_per_panchayat"]
    per_block = PER_DISTRICT["panchayats_per_block"] * per_panchayat
    blocks = max(1, round(villages / per_block))
    panchayats = max(1, round(villages / per_panchayat)) if blocks == 1 else PER_DISTRICT["panchayats_per_block"]
    per_panchayat = max(1, round(villages / (blocks * panchayats)))
    return {"blocks_per_district": blocks, "panchayats_per_block": panchayats, "villages_per_panchayat": per_panchayat}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway.devtools.lgd_files", description=__doc__.split("\n\n")[1])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--villages", type=int, default=45_000, help="about this many villages")
    parser.add_argument("--state-code", type=int, default=20)
    parser.add_argument("--state-name", default="JHARKHAND")
    parser.add_argument("--lang", default="hi", choices=sorted(SCRIPT_INDEX))
    parser.add_argument("--no-quirks", action="store_true", help="clean files: no drift, orphan or shared codes")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    shape = shape_for(args.villages)
    paths = write_lgd_state(args.directory, state_code=args.state_code, state_name=args.state_name, lang=args.lang,
                            quirks=not args.no_quirks, seed=args.seed, **shape)
    print(", ".join(f"{key.replace('_', ' ')} {value}" for key, value in shape.items()))
    for path in paths.values():
        print(path)


def data_rows(path: Path) -> Iterator[dict[str, str]]:
    """A generated file's data rows by column (for tests that check the converter against the files)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if row and row[0] == "S.No.":
                header = row
                break
        for row in reader:
            if row:
                yield dict(zip(header, row, strict=True))


if __name__ == "__main__":
    main()
