"""The Local Government Directory's "Download Directory" files, converted into our places CSV.

LGD (lgdirectory.gov.in) publishes each level in its own file, as a spreadsheet export: UTF-8 with
a byte-order mark, every field quoted, a title line or two above the header, an `S.No.` column,
blank lines at the end, ALL-CAPS English names, and headers whose spelling drifts between
downloads (`Sub-District Code` / `Subdistrict Code`, `(In Englsih)`). A deployer should be able to
hand us those files as downloaded, so this module reads them as they are and writes the one shape
`directory.import_directory` takes (see shared/CONTRACT.md, "Directory files").

What a file is comes from its header, never its name (downloads are renamed, numbered, zipped):
each header is normalised (`_normalise`) and the first kind in KINDS whose columns it has wins.

The levels are converted top-down (LEVEL_SPECS), so a parent is always decided before its
children, the output lists parents first, and a place refused for a missing parent takes its
descendants with it. Files are streamed with the csv module; what lives for the whole run is
compact: per level, code → where it was read (one int), the village → panchayat mapping, and the
panchayat → block mapping.

Rules for the cases LGD leaves open (each choice made is a note, so a deployer can check it):
- A village's parent is its gram panchayat (from a "Gram Panchayat Mapping to village" file) when
  one exists, else its sub-district (from the villages file). A village mapped to several
  panchayats goes under the lowest code among those that exist; the others are noted.
- The mapping file names panchayats but does not create them: a gram panchayat is a place only
  from a PRI local bodies file, and only for the village-level types (PANCHAYAT_TYPES). Its block
  is that file's Block Code, else the mapping file's.
- A local bodies file is PRI when its header has a Parent Local Body Code or a Block Code (rural
  bodies hang off a block or an upper panchayat; urban ones only off a district), else urban. In an
  urban file a row whose type says panchayat and no urban word (URBAN_TYPE_WORDS) is refused.
- Duplicates of (level, code) keep the first row read, even when that first row was refused.
- Title lines, footers and blank lines are rows with fewer than two filled cells: skipped unsaid.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# --- the data: our places CSV, the LGD headers, what each file kind holds -----------------------

PLACES_HEADER = ("lgd_code", "level", "name", "parent_lgd_code", "parent_level",
                 "name_hi", "name_bn", "name_sat_olck", "name_original")

# A header is lowercased and stripped to letters and digits ("Sub-District Name (In English)" →
# "subdistrictnameinenglish"), then these replacements run in order. The English name is the
# column's plain name ("Village Name"); the local one ends in "local".
HEADER_FIXES: tuple[tuple[str, str], ...] = (
    ("englsih", "english"), ("engilsh", "english"), ("englihs", "english"), ("langauge", "language"),
    ("inenglish", ""), ("inlocallanguage", "local"), ("inlocal", "local"),
)
HEADER_ALIASES: dict[str, str] = {  # whole (fixed) names some downloads use for the same column
    "localbodytype": "localbodytypename", "wardno": "wardnumber", "lbcode": "localbodycode",
    "localbodynamelocallanguage": "localbodynamelocal", "census2011": "census2011code",
}


@dataclass(frozen=True)
class Kind:
    """A kind of LGD download, recognised by the columns its header has."""

    name: str
    needs: frozenset[str]
    any_of: frozenset[str] = frozenset()  # and at least one of these, when not empty
    shown: str = ""  # the columns as LGD spells them, for an error message


def _kind(name: str, needs: str, shown: str, any_of: str = "") -> Kind:
    return Kind(name, frozenset(needs.split()), frozenset(any_of.split()), shown)


# Most specific first: a villages header also has every column a sub-districts header needs.
KINDS: tuple[Kind, ...] = (
    _kind("wards", "wardcode localbodycode", "Local Body Code, Ward Code"),
    _kind("gp_mapping", "localbodycode villagecode", "Local Body Code, Village Code"),
    _kind("villages", "villagecode villagename subdistrictcode", "Sub-District Code, Village Code, Village Name"),
    _kind("pri_local_bodies", "localbodycode localbodyname", "Local Body Code, Local Body Name, and"
          " Parent Local Body Code or Block Code", any_of="parentlocalbodycode blockcode"),
    _kind("urban_local_bodies", "localbodycode localbodyname districtcode",
          "District Code, Local Body Code, Local Body Name"),
    _kind("blocks", "blockcode blockname districtcode", "District Code, Block Code, Block Name"),
    _kind("sub_districts", "subdistrictcode subdistrictname districtcode",
          "District Code, Sub-District Code, Sub-District Name"),
    _kind("districts", "districtcode districtname statecode", "State Code, District Code, District Name"),
    _kind("states", "statecode statename", "State Code, State Name"),
)
HEADER_SEARCH_ROWS = 10  # filled rows looked at for the header (title lines sit above it)


@dataclass(frozen=True)
class LevelSpec:
    """Where one level's places come from: the file kind and its columns (normalised names)."""

    level: str
    kind: str
    code: str
    name: str
    parent_level: str | None
    parent: str | None  # the column holding the parent's code

    @property
    def local(self) -> str:
        return self.name + "local"


# Top-down: every parent level comes before its children (the output's order too).
LEVEL_SPECS: tuple[LevelSpec, ...] = (
    LevelSpec("state", "states", "statecode", "statename", None, None),
    LevelSpec("district", "districts", "districtcode", "districtname", "state", "statecode"),
    LevelSpec("sub_district", "sub_districts", "subdistrictcode", "subdistrictname", "district", "districtcode"),
    LevelSpec("block", "blocks", "blockcode", "blockname", "district", "districtcode"),
    LevelSpec("gram_panchayat", "pri_local_bodies", "localbodycode", "localbodyname", "block", "blockcode"),
    LevelSpec("village", "villages", "villagecode", "villagename", "sub_district", "subdistrictcode"),
    LevelSpec("urban_local_body", "urban_local_bodies", "localbodycode", "localbodyname", "district", "districtcode"),
    LevelSpec("ward", "wards", "wardcode", "wardname", "urban_local_body", "localbodycode"),
)
LEVELS: tuple[str, ...] = tuple(spec.level for spec in LEVEL_SPECS)
WORDS: dict[str, str] = {level: level.replace("_", " ").replace("sub ", "sub-") for level in LEVELS}

# Local Body Type Name, normalised: the village-level panchayats (the states' own words for them).
PANCHAYAT_TYPES = re.compile(r"(village|gram|grama|gaon)panchayath?")
URBAN_TYPE_WORDS = ("municipal", "nagar", "notified", "town", "city", "cantonment", "corporation", "township")

# Local names by the script they are written in; a name in none of these (or split evenly) falls
# back to its state's language, by LGD state code.
SCRIPTS: tuple[tuple[str, int, int], ...] = (
    ("name_hi", 0x0900, 0x097F), ("name_bn", 0x0980, 0x09FF), ("name_sat_olck", 0x1C50, 0x1C7F),
)
STATE_LANGUAGES: dict[int, str] = {  # LGD state code → the column its local names go to
    20: "name_hi", 19: "name_bn", 8: "name_hi", 10: "name_hi", 9: "name_hi", 23: "name_hi",
    22: "name_hi", 5: "name_hi", 6: "name_hi", 2: "name_hi", 7: "name_hi", 16: "name_bn",
}

_SCRIPT_LETTERS = tuple((column, re.compile(f"[{chr(low)}-{chr(high)}]")) for column, low, high in SCRIPTS)
_ROMAN = re.compile(r"X{0,3}(IX|IV|V?I{0,3})")  # I … XXXIX: "CHAS-II" → "Chas-II"
_CAPS_WORD = re.compile(r"[A-Z][A-Z']*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_FILE_BITS = 12  # where a row was read, packed in one int: line << 12 | file number (4,096 files)
_FILE_MASK = (1 << _FILE_BITS) - 1

Row = dict[str, str]


class _RowWriter(Protocol):
    def writerow(self, row: Iterable[object], /) -> object: ...


class _CsvReader(Protocol):
    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


# --- the API ------------------------------------------------------------------------------------

class LgdError(ValueError):
    """A file that cannot be used at all: unreadable, not UTF-8, or not an LGD download we know."""


@dataclass
class LgdConversion:
    files: dict[str, str] = field(default_factory=dict)  # file name → kind detected
    read: dict[str, int] = field(default_factory=dict)  # kind → data rows read
    written: dict[str, int] = field(default_factory=dict)  # level → places written
    refused: dict[str, int] = field(default_factory=dict)  # level → rows not written (each one a note)
    notes: list[str] = field(default_factory=list)  # "villages.csv line 12: …": every refusal and choice


def convert_lgd(paths: Sequence[Path], out: Path, *,
                known: Callable[[str, int], bool] = lambda level, code: False) -> LgdConversion:
    """Convert LGD downloads into a places CSV at `out` (written whole or not at all).

    `known(level, code)` says whether a place is already in the directory, so that a file of
    villages can follow blocks imported in an earlier run. Raises LgdError for a file that cannot
    be used at all; a row that cannot be converted is a note instead, and the rest go on.
    """
    labels = _labels(paths)
    kinds = [_detect(path, label) for path, label in zip(paths, labels, strict=True)]
    partial = out.with_name(f".{out.name}.part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            files = list(zip(paths, labels, kinds, strict=True))
            result = _Converter(files, known, csv.writer(handle, lineterminator="\n")).run()
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return result


# --- names ----------------------------------------------------------------------------------------

def title_case(published: str) -> str:
    """An ALL-CAPS English name in Title Case ("BUNDU (P)" → "Bundu (P)"); mixed case is kept.

    Roman numerals, single letters ("M.C.") and short abbreviations in brackets ("(CT)", "(NP)")
    stay upper case; letters right after a digit go lower ("1ST" → "1st"). Runs of spaces become one.
    """
    text = " ".join(published.split())
    if text != text.upper():  # published in mixed case already
        return text
    return _CAPS_WORD.sub(_title_word, text)


def _title_word(match: re.Match[str]) -> str:
    word, text, start, end = match.group(), match.string, match.start(), match.end()
    if _ROMAN.fullmatch(word) or (len(word) <= 3 and text[start - 1:start] == "(" and text[end:end + 1] == ")"):
        return word
    if start and text[start - 1].isdigit():
        return word.lower()
    return word[0] + word[1:].lower()


def local_column(text: str, state_code: int | None) -> str | None:
    """The places column a local name belongs in, by the script it is written in.

    The script with the most letters wins; a name with none of ours (digits, marks only) or with
    two scripts in equal measure falls back to its state's language. A name in another script
    (Latin, Odia, …) has no column here: None, and the caller leaves it out.
    """
    (most, column), (second, _) = sorted(((len(letters.findall(text)), column) for column, letters in _SCRIPT_LETTERS),
                                         reverse=True)[:2]
    if most > second:
        return column
    if not most and any(char.isalpha() for char in text):
        return None
    return STATE_LANGUAGES.get(state_code) if state_code is not None else None


# --- reading the files ---------------------------------------------------------------------------

def _normalise(column: str) -> str:
    """A header cell as a key that survives LGD's spelling drift (see HEADER_FIXES)."""
    key = _NOT_ALNUM.sub("", column.replace("\ufeff", "").lower())
    for wrong, right in HEADER_FIXES:
        key = key.replace(wrong, right)
    return HEADER_ALIASES.get(key, key)


def _match(header: Sequence[str]) -> str | None:
    columns = set(header)
    for kind in KINDS:
        if kind.needs <= columns and (not kind.any_of or kind.any_of & columns):
            return kind.name
    return None


def _labels(paths: Sequence[Path]) -> list[str]:
    """How notes name each file: its name, or its whole path when two files share a name."""
    names = Counter(path.name for path in paths)
    return [path.name if names[path.name] == 1 else str(path) for path in paths]


def _detect(path: Path, label: str) -> str:
    with _reading(path, label) as reader:
        return _find_header(reader, label)[0]


def _find_header(reader: _CsvReader, label: str) -> tuple[str, list[str]]:
    """(kind, normalised header): the first of the first filled rows that names a kind."""
    widest: list[str] = []
    for _ in range(HEADER_SEARCH_ROWS):
        raw = _next_filled(reader, minimum=1)
        if raw is None:
            break
        header = [_normalise(cell) for cell in raw]
        kind = _match(header)
        if kind:
            return kind, header
        widest = max(widest, raw, key=len)
    expected = "; ".join(f"{kind.name} ({kind.shown})" for kind in KINDS)
    seen = f"its header ({', '.join(cell.strip() for cell in widest)})" if widest else "it has no header"
    raise LgdError(f"{label}: not an LGD download we know: {seen} lacks the columns of each of: {expected}")


def _next_filled(reader: _CsvReader, minimum: int) -> list[str] | None:
    for raw in reader:
        if sum(1 for cell in raw if cell.strip()) >= minimum:
            return raw
    return None


@contextmanager
def _reading(path: Path, label: str) -> Iterator[_CsvReader]:
    """A csv reader over one file; an unreadable or undecodable file becomes an LgdError naming it.

    The byte-order mark LGD writes is dropped by the utf-8-sig codec.
    """
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise LgdError(f"{label}: cannot read ({exc.strerror})") from exc
    with handle:
        try:
            yield csv.reader(handle)
        except UnicodeDecodeError as exc:
            raise LgdError(f"{label} line {_bad_line(path)}: not UTF-8 ({exc.reason}); "
                           'save it as "CSV UTF-8"') from exc
        except csv.Error as exc:
            raise LgdError(f"{label}: not a CSV file ({exc})") from exc


def _bad_line(path: Path) -> int:
    """The first line that is not UTF-8 (the text reader knows only an offset in its buffer)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _rows(path: Path, label: str) -> Iterator[tuple[int, Row]]:
    """The file's data rows as (line, normalised column → stripped value), streamed."""
    with _reading(path, label) as reader:
        _, header = _find_header(reader, label)
        for raw in reader:
            cells = [cell.strip() for cell in raw]
            if len(cells) - cells.count("") >= 2:  # not a blank line, a title or a footer
                yield reader.line_num, dict(zip(header, cells))  # the line the row ends on


def _code(text: str | None) -> int | None:
    return int(text) if text and text.isdecimal() and 0 < int(text) < 10**12 else None


# --- converting ---------------------------------------------------------------------------------

Parent = tuple[str, int] | None  # (level, code) of a place's parent; None for a state


class _Mapping:
    """What the gram panchayat mapping files say: village → panchayat(s), panchayat → block.

    A village's first row is one packed int (panchayat << 48 | where), since a state has tens of
    thousands of them; the rare villages mapped to several panchayats keep a list of the others.
    """

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.more: dict[int, list[int]] = {}
        self.block: dict[int, tuple[int, int]] = {}  # panchayat → (block, where first said)
        self.block_disputed: set[int] = set()  # panchayats already noted as under two blocks

    def add(self, village: int, panchayat: int, where: int) -> None:
        if village not in self.first:
            self.first[village] = panchayat << 48 | where
        elif panchayat not in (gp for gp, _ in self.candidates(village)):
            self.more.setdefault(village, []).append(panchayat << 48 | where)

    def candidates(self, village: int) -> list[tuple[int, int]]:
        """(panchayat, where) for each panchayat a village is mapped to, lowest code first."""
        packed = [self.first[village], *self.more.get(village, ())] if village in self.first else []
        return sorted((value >> 48, value & ((1 << 48) - 1)) for value in packed)


class _Converter:
    """One conversion: reads the files level by level, top-down, and writes places as it goes."""

    def __init__(self, files: list[tuple[Path, str, str]], known: Callable[[str, int], bool],
                 writer: _RowWriter) -> None:
        self.files, self.known, self.writer = files, known, writer
        self.result = LgdConversion(files={label: kind for _, label, kind in files},
                                    read={kind: 0 for _, _, kind in files}, written={level: 0 for level in LEVELS},
                                    refused={level: 0 for level in LEVELS})
        self.placed: dict[str, dict[int, int]] = {level: {} for level in LEVELS}  # code → where read
        self.refused: dict[str, dict[int, int]] = {level: {} for level in LEVELS}
        self.cache: dict[tuple[str, int], bool] = {}  # known(), asked once per parent
        self.mapping = _Mapping()

    def run(self) -> LgdConversion:
        self.writer.writerow(PLACES_HEADER)
        for number, (path, label, kind) in enumerate(self.files):
            if kind == "gp_mapping":
                self._read_mapping(number, path, label)
        for spec in LEVEL_SPECS:
            for number, (path, label, kind) in enumerate(self.files):
                if kind == spec.kind:
                    self._convert_file(spec, number, path, label)
        self._unused_mappings()
        return self.result

    # -- where rows were read, and whether a place exists --

    def _where(self, where: int) -> str:
        return f"{self.files[where & _FILE_MASK][1]} line {where >> _FILE_BITS}"

    def _note(self, label: str, line: int | None, text: str) -> None:
        self.result.notes.append(f"{label} line {line}: {text}" if line is not None else f"{label}: {text}")

    def _exists(self, level: str, code: int) -> bool:
        if code in self.placed[level]:
            return True
        if (level, code) not in self.cache:
            self.cache[level, code] = bool(self.known(level, code))
        return self.cache[level, code]

    def _absent(self, level: str, code: int) -> str:
        """Why a parent is not there; a refused parent names where it was refused (the cascade)."""
        if code in self.refused[level]:
            return f"its {WORDS[level]} {code} was skipped ({self._where(self.refused[level][code])})"
        return f"its {WORDS[level]} {code} is in none of the files given nor in the directory"

    def _check_parent(self, level: str, code: int | None, text: str) -> Parent | str:
        if code is None:
            return f"its {WORDS[level]} code {text!r} is not a positive number" if text else f"no {WORDS[level]} code"
        return (level, code) if self._exists(level, code) else self._absent(level, code)

    # -- the gram panchayat mapping, read before any level --

    def _read_mapping(self, number: int, path: Path, label: str) -> None:
        for line, row in _rows(path, label):
            self.result.read["gp_mapping"] += 1
            village, panchayat = _code(row.get("villagecode")), _code(row.get("localbodycode"))
            if village is None or panchayat is None:
                self._note(label, line, f"village code {row.get('villagecode', '')!r} or gram panchayat code "
                           f"{row.get('localbodycode', '')!r} is not a positive number; row not used")
                continue
            where = line << _FILE_BITS | number
            self.mapping.add(village, panchayat, where)
            self._map_block(panchayat, _code(row.get("blockcode")), where)

    def _map_block(self, panchayat: int, block: int | None, where: int) -> None:
        if block is None:
            return
        first = self.mapping.block.setdefault(panchayat, (block, where))
        if first[0] != block and panchayat not in self.mapping.block_disputed:
            self.mapping.block_disputed.add(panchayat)
            self.result.notes.append(f"{self._where(where)}: gram panchayat {panchayat} is under block {block} "
                                     f"here but under block {first[0]} at {self._where(first[1])}; the first kept")

    def _unused_mappings(self) -> None:
        """Mapping rows for villages in no villages file: one note per mapping file, with a count."""
        unused: dict[int, list[int]] = {}
        for village, packed in self.mapping.first.items():
            if village not in self.placed["village"] and village not in self.refused["village"]:
                unused.setdefault(packed & _FILE_MASK, []).append(village)
        for number, villages in unused.items():
            self._note(self.files[number][1], None, f"{len(villages)} village(s) mapped here are in none of the "
                       f"villages files given (first: village {villages[0]}); their mapping was not used")

    # -- one file of one level --

    def _convert_file(self, spec: LevelSpec, number: int, path: Path, label: str) -> None:
        not_places: Counter[str] = Counter()
        dropped: list[int] = []  # lines whose local name has no column
        for line, row in _rows(path, label):
            self.result.read[spec.kind] += 1
            if spec.kind == "pri_local_bodies" and not _is_village_panchayat(row):
                not_places[row.get("localbodytypename") or "(no type)"] += 1
            else:
                self._convert_row(spec, row, (label, line, line << _FILE_BITS | number), dropped)
        if not_places:
            types = ", ".join(f"{name} {count}" for name, count in sorted(not_places.items()))
            self._note(label, None, f"{sum(not_places.values())} row(s) are not village panchayats, so not places "
                       f"({types})")
        if dropped:
            self._note(label, None, f"{len(dropped)} local name(s) in a script with no column here, and no state "
                       f"language to fall back on, left out (first on line {dropped[0]})")

    def _convert_row(self, spec: LevelSpec, row: Row, at: tuple[str, int, int], dropped: list[int]) -> None:
        (label, line, where), code, word = at, _code(row.get(spec.code)), WORDS[spec.level]
        if code is None:
            self._note(label, line, f"{word} code {row.get(spec.code, '')!r} is not a positive number; skipped")
            self.result.refused[spec.level] += 1
            return
        first = self.placed[spec.level].get(code, self.refused[spec.level].get(code))
        if first is not None:
            self._note(label, line, f"{word} {code} appears again (first at {self._where(first)}); only the first row counts")
            self.result.refused[spec.level] += 1
            return
        name = _english_name(spec, row)
        parent = _row_problem(spec, row, name) or self._parent(spec, row, code, label, line, name)
        if isinstance(parent, str):
            self._note(label, line, f"{word} {code} ({name or '-'}): {parent}; skipped")
            self.refused[spec.level][code] = where
            self.result.refused[spec.level] += 1
            return
        self._write(spec, row, code, name, parent, dropped, line)
        self.placed[spec.level][code] = where

    def _write(self, spec: LevelSpec, row: Row, code: int, name: str, parent: Parent, dropped: list[int],
               line: int) -> None:
        local = row.get(spec.local, "")
        column = local_column(local, _code(row.get("statecode"))) if local else None
        if local and column is None:
            dropped.append(line)
        published = row.get(spec.name, "")
        original = published if published and published != name else ""  # only when it tells something
        self.writer.writerow([code, spec.level, name, parent[1] if parent else "", parent[0] if parent else "",
                              *(local if column == script else "" for script, _, _ in SCRIPTS), original])
        self.result.written[spec.level] += 1

    # -- parents --

    def _parent(self, spec: LevelSpec, row: Row, code: int, label: str, line: int, name: str) -> Parent | str:
        """The place's parent, or why it has none that exists (the note's words)."""
        if spec.level == "village":
            return self._village_parent(row, code, label, line, name)
        if spec.parent_level is None or spec.parent is None:
            return None
        parent = _code(row.get(spec.parent))
        if spec.level == "gram_panchayat" and parent is None:  # the PRI file's block, else the mapping's
            parent = self.mapping.block.get(code, (None, 0))[0]
            if parent is None:
                return "no block code, here nor in a gram panchayat mapping file"
        return self._check_parent(spec.parent_level, parent, row.get(spec.parent, ""))

    def _village_parent(self, row: Row, code: int, label: str, line: int, name: str) -> Parent | str:
        """The lowest-coded mapped panchayat that exists, else the sub-district; choices noted."""
        candidates = self.mapping.candidates(code)
        chosen = next((gp for gp, _ in candidates if self._exists("gram_panchayat", gp)), None)
        if len(candidates) > 1:
            self._note_several(code, name, candidates, chosen)
        if chosen is not None:
            return "gram_panchayat", chosen
        fallback = self._check_parent("sub_district", _code(row.get("subdistrictcode")),
                                      row.get("subdistrictcode", ""))
        if not candidates:
            return fallback
        missing = "; ".join(self._absent("gram_panchayat", gp) for gp, _ in candidates)
        if isinstance(fallback, str):
            return f"{missing}; and {fallback}"
        self._note(label, line, f"village {code} ({name}): {missing}; placed under its sub-district {fallback[1]}")
        return fallback

    def _note_several(self, village: int, name: str, candidates: list[tuple[int, int]], chosen: int | None) -> None:
        """A village in several panchayats, said at the mapping row read last (the one that made it so)."""
        latest = max((where for _, where in candidates), key=lambda where: (where & _FILE_MASK, where >> _FILE_BITS))
        mapped = ", ".join(f"{gp} ({self._where(where)})" for gp, where in candidates)
        choice = f"placed under {chosen}, the lowest code that exists" if chosen else "none of them exists"
        self.result.notes.append(f"{self._where(latest)}: village {village} ({name}) is mapped to gram panchayats "
                                 f"{mapped}; {choice}")


def _english_name(spec: LevelSpec, row: Row) -> str:
    """The name we keep: the English name in Title Case; a ward with none is "Ward <number>"."""
    published = row.get(spec.name, "")
    if spec.level == "ward" and (not published or published.isdigit()):
        number = published or row.get("wardnumber", "")
        return f"Ward {number}" if number else ""
    return title_case(published)


def _row_problem(spec: LevelSpec, row: Row, name: str) -> str | None:
    if not name:
        return "has neither a name nor a number" if spec.level == "ward" else "has no English name"
    if spec.kind == "urban_local_bodies" and not _is_urban(row):
        return f"is a {row.get('localbodytypename')}, not an urban local body"
    return None


def _type_key(row: Row) -> str:
    return _NOT_ALNUM.sub("", row.get("localbodytypename", "").lower())


def _is_village_panchayat(row: Row) -> bool:
    """A PRI row that is a gram panchayat; a PRI file without a type column lists only those."""
    return "localbodytypename" not in row or bool(PANCHAYAT_TYPES.fullmatch(_type_key(row)))


def _is_urban(row: Row) -> bool:
    """An urban file's row, unless its type says panchayat with no urban word ("Town Panchayat" is urban)."""
    kind = _type_key(row)
    return any(word in kind for word in URBAN_TYPE_WORDS) or "panchayat" not in kind
