"""Village-code posters: one A4 page per gram panchayat, with its villages' codes and how to report.

The USSD menu asks a villager to "type the village code from the poster"; this draws that poster
from data the caller has read out of the directory (no SQL, no Redis here): the poster's language
first, English under each line, large black type that survives a photocopier and a wall.

Indian scripts join and move letters (क्ष, त्र; ি is written before the consonant it follows):
fpdf2 draws them right only with its HarfBuzz shaping on, and with fonts that hold the glyphs.
The fonts are Noto Sans from Debian's fonts-noto-core, one family per script. Each line is set
in the family of its first Indian letter; the others are fallbacks for the letters it lacks (a
Bengali village name on a Hindi poster, the "—" in a Hindi title). The output is byte-for-byte
deterministic (a fixed creation date, no clock), so a re-run shows whether anything changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from gateway.infra.fonts import font_dir as default_font_dir
from menus.catalog import CatalogError
from menus.posters import POSTER_LANGUAGES, PosterTexts, load_poster_texts

__all__ = ["POSTER_LANGUAGES", "PosterBlock", "PosterError", "PosterPanchayat", "PosterVillage", "render_posters"]

LATIN_FAMILY = "NotoSans"
# Unicode blocks of the scripts India writes its place names in, and the Noto family for each.
SCRIPT_FAMILIES: tuple[tuple[int, int, str], ...] = (
    (0x0900, 0x097F, "NotoSansDevanagari"),
    (0x0980, 0x09FF, "NotoSansBengali"),
    (0x0A00, 0x0A7F, "NotoSansGurmukhi"),
    (0x0A80, 0x0AFF, "NotoSansGujarati"),
    (0x0B00, 0x0B7F, "NotoSansOriya"),
    (0x0B80, 0x0BFF, "NotoSansTamil"),
    (0x0C00, 0x0C7F, "NotoSansTelugu"),
    (0x0C80, 0x0CFF, "NotoSansKannada"),
    (0x0D00, 0x0D7F, "NotoSansMalayalam"),
    (0x1C50, 0x1C7F, "NotoSansOlChiki"),
)
FONT_STYLES = {"": "Regular", "B": "Bold"}  # fpdf2 style -> the font file's suffix
# A fixed date instead of "now": two runs over the same directory give the same bytes.
CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)

# Page geometry, in mm (A4 portrait). Two columns of villages: a GP has a handful to a few dozen.
PAGE_W, PAGE_H = 210.0, 297.0
MARGIN = 12.0
COLUMNS = 2
GUTTER = 8.0
ROW_GAP = 2.0
PT = 25.4 / 72  # mm per point
LEADING = 1.35  # line height / font size: room for Devanagari's and Bengali's marks above and below


@dataclass(frozen=True)
class PosterVillage:
    code: int
    name: str  # English
    local_name: str | None  # in the state's script, when known


@dataclass(frozen=True)
class PosterPanchayat:
    code: int
    name: str
    local_name: str | None
    villages: tuple[PosterVillage, ...]


@dataclass(frozen=True)
class PosterBlock:
    code: int
    name: str
    local_name: str | None
    district: str
    district_local: str | None
    panchayats: tuple[PosterPanchayat, ...]


class PosterError(ValueError):
    """Posters that cannot be made; the message says what to fix (a font to install, a text to correct)."""


@dataclass(frozen=True)
class _Style:
    """Sizes in points of a line in the poster's language and of its English line underneath. A
    line too long for one line is set smaller, down to `least`, before it is wrapped: a title
    broken before its last word reads worse than a slightly smaller one."""

    main: float
    english: float
    bold: bool = False
    align: str = "L"
    least: float = 14  # the smallest body text that reads from a few steps away


TITLE = _Style(26, 16, bold=True, align="C", least=20)
DIAL = _Style(32, 18, bold=True, align="C", least=24)
SMS = _Style(16, 14, align="C")
NOTICE = _Style(18, 14, bold=True, align="C")
PANCHAYAT = _Style(24, 16, bold=True, least=18)
PLACE = _Style(15, 14, align="R")
VILLAGES = _Style(15, 14)
NAME = _Style(17, 14, bold=True)
CODE_PT = 24.0
FOOTER_PT = 14.0


def render_posters(block: PosterBlock, lang: str, out: Path, *, ussd_code: str, sms_number: str | None,
                   font_dir: Path | None = None) -> int:
    """Write the block's posters to `out` (a PDF, one page per gram panchayat, more when its villages
    do not fit on one) and return the number of pages.

    `lang` is the poster's language; English is printed under every line, except on an English
    poster. `out` is replaced in one step: a reader never sees half a file.
    """
    if not block.panchayats:
        raise PosterError(f"block {block.code} ({block.name}) has no gram panchayats in the directory: nothing to print")
    texts = _texts(lang)
    font_dir = font_dir or default_font_dir()
    needed = {LATIN_FAMILY} | {_family(text) for text in _strings(block, lang, texts, ussd_code, sms_number)}
    pdf = _document(block, lang, font_dir, sorted(needed))
    poster = _Poster(pdf, block, lang, texts[lang], texts["en"], ussd_code, sms_number)
    for panchayat in block.panchayats:
        poster.draw(panchayat)
    _replace(out, bytes(pdf.output()))
    return pdf.pages_count


def _texts(lang: str) -> PosterTexts:
    try:
        texts = load_poster_texts()
    except CatalogError as exc:
        raise PosterError(str(exc)) from exc
    if lang not in texts:
        raise PosterError(f"no poster texts in language {lang!r}; posters.yaml has: {', '.join(texts)}")
    return texts


def _strings(block: PosterBlock, lang: str, texts: PosterTexts, ussd_code: str,
             sms_number: str | None) -> Iterator[str]:
    """Everything the posters will print, for choosing the fonts before drawing anything."""
    yield from texts[lang].values()
    yield from texts["en"].values()
    yield ussd_code
    yield sms_number or ""
    names = [(block.name, block.local_name), (block.district, block.district_local)]
    for panchayat in block.panchayats:
        names.append((panchayat.name, panchayat.local_name))
        names.extend((village.name, village.local_name) for village in panchayat.villages)
    for name, local_name in names:
        yield name
        if lang != "en" and local_name:
            yield local_name


def _family(text: str) -> str:
    """The Noto family of the first Indian letter of `text`; Noto Sans (Latin) when it has none."""
    for char in text:
        point = ord(char)
        for first, last, family in SCRIPT_FAMILIES:
            if first <= point <= last:
                return family
    return LATIN_FAMILY


def _document(block: PosterBlock, lang: str, font_dir: Path, families: Sequence[str]) -> FPDF:
    """An empty A4 document with the fonts registered, or PosterError naming the missing files."""
    files = {(family, style): font_dir / f"{family}-{suffix}.ttf"
             for family in families for style, suffix in FONT_STYLES.items()}
    missing = [path.name for path in files.values() if not path.is_file()]
    if missing:
        raise PosterError(
            f"fonts missing from {font_dir}: {', '.join(missing)}. Install Debian's Noto fonts "
            f"(apt-get install fonts-noto-core), or set CPGW_FONT_DIR to a directory that holds them.")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_title(f"Village codes: block {block.name}, {block.district}")
    pdf.set_lang(lang.replace("_", "-"))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(False)
    for (family, style), path in files.items():
        pdf.add_font(family, style, str(path))
    pdf.set_fallback_fonts(list(families))
    pdf.set_text_shaping(True)
    return pdf


def _replace(out: Path, data: bytes) -> None:
    """Write beside `out`, then rename: a print queue watching the folder never takes half a PDF."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("xb") as handle:
            handle.write(data)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def _columns(heights: Sequence[float], capacity: float, columns: int) -> list[list[int]]:
    """The indices of the rows that fit, filled down the first column, then the next (the order a
    list sorted by name is read in). A row taller than a whole column still gets one to itself."""
    filled: list[list[int]] = [[]]
    used = 0.0
    for index, height in enumerate(heights):
        if filled[-1] and used + height > capacity:
            if len(filled) == columns:
                break
            filled.append([])
            used = 0.0
        filled[-1].append(index)
        used += height
    return filled


def _balanced(heights: Sequence[float], capacity: float, columns: int) -> list[list[int]]:
    """As `_columns`, but when every row fits, in the shortest columns that still take them all:
    eight villages make two columns of four rather than one of eight beside an empty one."""
    filled = _columns(heights, capacity, columns)
    if sum(map(len, filled)) < len(heights):
        return filled
    low, high = max(heights, default=0.0), capacity
    while high - low > 0.5:  # mm: bisect the column height
        middle = (low + high) / 2
        if sum(map(len, _columns(heights, middle, columns))) == len(heights):
            high = middle
        else:
            low = middle
    return _columns(heights, high, columns)


def _is_latin(lang: str) -> bool:
    return lang == "en" or lang.endswith("_latn")


class _Poster:
    """The pages of one block being drawn into one PDF."""

    def __init__(self, pdf: FPDF, block: PosterBlock, lang: str, texts: dict[str, str], english: dict[str, str],
                 ussd_code: str, sms_number: str | None) -> None:
        self.pdf, self.block, self.lang = pdf, block, lang
        self.texts, self.english = texts, english
        self.ussd_code, self.sms_number = ussd_code, sms_number
        self.bilingual = lang != "en"
        codes = [str(v.code) for p in block.panchayats for v in p.villages] or ["0"]
        self._font(LATIN_FAMILY, True, CODE_PT)
        self.code_w = max(pdf.get_string_width(code) for code in codes) + 2 * pdf.c_margin + 3
        self.column_w = (PAGE_W - 2 * MARGIN - GUTTER * (COLUMNS - 1)) / COLUMNS
        self.name_w = self.column_w - self.code_w

    def draw(self, panchayat: PosterPanchayat) -> None:
        """The panchayat's pages: the same header on each, the villages continued from page to page."""
        villages = sorted(panchayat.villages, key=lambda v: (self._village_names(v)[0].casefold(), v.code))
        heights: list[float] = []
        start, continued = 0, False
        while True:
            self.pdf.add_page()
            top = self._header(panchayat, continued)
            heights = heights or [self._row_height(village) for village in villages]  # measuring needs a page
            start = self._list(villages, heights, start, top)
            self._footer(panchayat)
            if start >= len(villages):
                return
            continued = True

    def _list(self, villages: Sequence[PosterVillage], heights: Sequence[float], start: int, top: float) -> int:
        """Draws as many villages from `start` as the page holds; returns the index of the first left over."""
        bottom = PAGE_H - MARGIN - self._line_h(FOOTER_PT) - 2
        columns = _balanced(heights[start:], bottom - top, COLUMNS)
        more = start + sum(map(len, columns)) < len(villages)
        if more:  # the "more on the next page" line takes its room from the list
            bottom -= self._pair_height("more", NOTICE)
            columns = _columns(heights[start:], bottom - top, COLUMNS)
        for number, rows in enumerate(columns):
            x = MARGIN + number * (self.column_w + GUTTER)
            self._column(x, top, [(villages[start + row], heights[start + row]) for row in rows])
        if more:
            self.pdf.set_xy(MARGIN, bottom)
            self._pair("more", NOTICE)
        return start + sum(map(len, columns))

    # --- the header: how to report, then which panchayat -----------------------------------------

    def _header(self, panchayat: PosterPanchayat, continued: bool) -> float:
        """Draws the header; returns where the village list starts."""
        pdf = self.pdf
        pdf.set_xy(MARGIN, MARGIN)
        self._pair("title", TITLE)
        self._dial_box()
        if self.sms_number is not None:
            self._pair("sms", SMS, sms_number=self.sms_number)
        self._band(lambda width: self._pair("secret", NOTICE, width=width),
                   lambda width: self._pair("helplines", NOTICE, width=width))
        self._rule(pdf.get_y() + 2, 0.8)
        pdf.set_y(pdf.get_y() + 3)
        suffix = "continued" if continued else None
        name = self._names(panchayat.name, panchayat.local_name)
        block = self._names(self.block.name, self.block.local_name)
        district = self._names(self.block.district, self.block.district_local)
        # The place gets the room it needs, up to half the width; the panchayat's name, the rest.
        place = self._pair_width("place", PLACE, block=block, district=district) / (PAGE_W - 2 * MARGIN)
        self._band(lambda width: self._pair("panchayat", PANCHAYAT, width=width, suffix=suffix, panchayat=name),
                   lambda width: self._pair("place", PLACE, width=width, block=block, district=district),
                   split=max(1 - place, 0.5))
        if panchayat.villages:  # else the page still says how to report; the menu lists places too
            self._pair("villages", VILLAGES)
        self._rule(pdf.get_y() + 1, 0.5)
        return pdf.get_y() + 3

    def _band(self, left: Callable[[float], None], right: Callable[[float], None], split: float = 0.5) -> None:
        """Two blocks of lines side by side, `split` of the width to the left one: a header drawn
        line under line would leave little room for the villages."""
        pdf = self.pdf
        top, width = pdf.get_y() + 1, PAGE_W - 2 * MARGIN
        pdf.set_xy(MARGIN, top)
        left(width * split)
        bottom = pdf.get_y()
        pdf.set_xy(MARGIN + width * split, top)
        right(width * (1 - split))
        pdf.set_xy(MARGIN, max(bottom, pdf.get_y()))

    def _dial_box(self) -> None:
        """The USSD code in the largest type, framed: the one thing to remember from the poster."""
        pdf = self.pdf
        top = pdf.get_y() + 1
        pdf.set_y(top + 1)
        self._pair("dial", DIAL, ussd_code=self.ussd_code)
        pdf.set_line_width(1.2)
        pdf.rect(MARGIN, top, PAGE_W - 2 * MARGIN, pdf.get_y() + 1 - top)
        pdf.set_y(pdf.get_y() + 2)

    def _footer(self, panchayat: PosterPanchayat) -> None:
        """Which poster this is, with LGD codes, for the officer who reprints or replaces one."""
        pdf = self.pdf
        y = PAGE_H - MARGIN - self._line_h(FOOTER_PT)
        self._rule(y - 1, 0.3)
        pdf.set_xy(MARGIN, y)
        block = self.block
        self._text(f"{panchayat.name} ({panchayat.code}) · {block.name} ({block.code}) · {block.district}",
                   FOOTER_PT, bold=False)

    # --- the village list ------------------------------------------------------------------------

    def _village_names(self, village: PosterVillage) -> tuple[str, str | None]:
        """The name a reader of the poster's script looks for (bold, the list's order), then the
        other one (the English name, or on a poster in Latin letters the state's script), if any."""
        main, english = self._names(village.name, village.local_name)
        if not self.bilingual or not village.local_name or village.local_name == village.name:
            return main, None
        return main, village.local_name if main == english else english

    def _row_height(self, village: PosterVillage) -> float:
        main, other = self._village_names(village)
        names = self._name_offset + self._measure(main, NAME.main, True, self.name_w)
        if other:
            names += self._measure(other, NAME.english, False, self.name_w)
        return max(self._line_h(CODE_PT), names) + ROW_GAP

    @property
    def _name_offset(self) -> float:
        """How far the first name sits below the top of its row: on the code's line, centred with it."""
        return (self._line_h(CODE_PT) - self._line_h(NAME.main)) / 2

    def _column(self, x: float, y: float, rows: Iterable[tuple[PosterVillage, float]]) -> None:
        """Villages under each other: the code in large bold digits, the names beside it, a rule under."""
        pdf = self.pdf
        for village, height in rows:
            pdf.set_xy(x, y)
            self._font(LATIN_FAMILY, True, CODE_PT)
            pdf.cell(self.code_w, self._line_h(CODE_PT), str(village.code))
            main, other = self._village_names(village)
            pdf.set_xy(x + self.code_w, y + self._name_offset)
            self._text(main, NAME.main, bold=True, width=self.name_w)
            if other:
                self._text(other, NAME.english, bold=False, width=self.name_w)
            y += height
            pdf.set_line_width(0.2)
            pdf.line(x, y - ROW_GAP / 2, x + self.column_w, y - ROW_GAP / 2)

    # --- text ------------------------------------------------------------------------------------

    def _names(self, name: str, local_name: str | None) -> tuple[str, str]:
        """A place's name as (the poster's language writes it, English): the state's script on a
        poster in an Indian script, the English name on one in Latin letters."""
        return (local_name if local_name and not _is_latin(self.lang) else name), name

    def _pair(self, key: str, style: _Style, *, width: float = 0, suffix: str | None = None,
              **values: str | tuple[str, str]) -> None:
        """A line in the poster's language and, on a bilingual poster, its English under it.
        A value given as a pair is (in the poster's language, in English)."""
        for text, size, bold in self._pair_lines(key, style, suffix, values):
            size = self._fitting(text, bold, width, size, min(style.least, size))
            self._text(text, size, bold=bold, align=style.align, width=width)

    def _pair_lines(self, key: str, style: _Style, suffix: str | None,
                    values: dict[str, str | tuple[str, str]]) -> list[tuple[str, float, bool]]:
        """(text, size, bold) of the lines of `_pair`, before any is made smaller to fit."""
        versions = [(self.texts, 0, style.main)] + ([(self.english, 1, style.english)] if self.bilingual else [])
        lines: list[tuple[str, float, bool]] = []
        for texts, which, size in versions:
            filled = {name: value[which] if isinstance(value, tuple) else value for name, value in values.items()}
            text = texts[key].format(**filled) + (f" {texts[suffix]}" if suffix else "")
            if not lines or text != lines[0][0]:  # Hinglish and English often agree ("Gram panchayat …")
                lines.append((text, size, style.bold and which == 0))
        return lines

    def _pair_width(self, key: str, style: _Style, suffix: str | None = None, **values: str | tuple[str, str]) -> float:
        """The width the widest line of `_pair` takes at full size, margins included."""
        widths = []
        for text, size, bold in self._pair_lines(key, style, suffix, values):
            self._font(_family(text), bold, size)
            widths.append(self.pdf.get_string_width(text))
        return max(widths) + 2 * self.pdf.c_margin

    def _fitting(self, text: str, bold: bool, width: float, size: float, least: float) -> float:
        """The largest size from `size` down to `least` (in whole points) at which `text` fits on one
        line; `size` itself when none does, as a text wrapped anyway is best read large."""
        room = (width or PAGE_W - 2 * MARGIN) - 2 * self.pdf.c_margin
        for smaller in range(int(size), int(least) - 1, -1):
            self._font(_family(text), bold, smaller)
            if self.pdf.get_string_width(text) <= room:
                return smaller
        return size

    def _pair_height(self, key: str, style: _Style) -> float:
        """The height `_pair` takes across the page, at full size (an upper bound when a line fits smaller)."""
        return sum(self._measure(text, size, bold, PAGE_W - 2 * MARGIN)
                   for text, size, bold in self._pair_lines(key, style, None, {}))

    def _text(self, text: str, size: float, *, bold: bool, align: str = "L", width: float = 0) -> None:
        self._font(_family(text), bold, size)
        self.pdf.multi_cell(width, self._line_h(size), text, align=align, new_x="LEFT", new_y="NEXT")

    def _measure(self, text: str, size: float, bold: bool, width: float) -> float:
        """The height `text` takes when wrapped to `width`, without drawing it."""
        self._font(_family(text), bold, size)
        return self.pdf.multi_cell(width, self._line_h(size), text, dry_run=True, output="HEIGHT")

    def _font(self, family: str, bold: bool, size: float) -> None:
        self.pdf.set_font(family, "B" if bold else "", size)

    @staticmethod
    def _line_h(size: float) -> float:
        return size * PT * LEADING

    def _rule(self, y: float, width: float) -> None:
        self.pdf.set_line_width(width)
        self.pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
