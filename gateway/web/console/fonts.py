"""The console's web fonts: Noto Sans for Latin, Devanagari, Bengali and Ol Chiki, made from this
machine's Debian `fonts-noto-core` files (the same ones the posters use), not from files we commit.

A DCPU office's old Windows PC or a bare Linux has no Devanagari or Bengali font, and few machines
have Ol Chiki: a Hindi SMS in a case's timeline would be a row of empty boxes. So the console serves
its own. Each font is cut down to its script (fontTools' subsetter, every OpenType feature kept so
that conjuncts, half forms and matras still shape), written as WOFF2 (brotli: a quarter smaller than WOFF),
built on its first request and kept in memory for the life of the process.

    /console/fonts/fonts.css?v=…      the @font-face rules, one per face whose file is present
    /console/fonts/NAME.woff2?v=…     a face; `v` changes when the file or the subsetting does

Hinting is dropped: it made the files half as large again, and Chromium and Firefox draw Noto well
without it on Linux, Android and Windows (DirectWrite). Each face has its own family name ("CPGW Noto Devanagari"), a `unicode-range` (the browser fetches
only the scripts a page shows) and `font-display: swap` (text shows at once in a fallback font).
Versioned URLs are cached for a year (`immutable`); a URL whose `v` is not the current one gets the
current bytes with `no-cache`, so a stale link never pins the wrong font. When a file is missing its
face is left out of the stylesheet and its URL answers 404: pages fall back to the browser's fonts,
and the log says once what to install.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from gateway.infra.fonts import font_dir

log = logging.getLogger("cpgw.console")

PREFIX = "/console/fonts"
# Part of every version: change it when the subsetting below changes, so browsers fetch the new files.
SUBSET_VERSION = "2"  # 2: WOFF2
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Google Fonts' "latin" range, with ₹ and the arrows the console prints (← Queue, old → new).
LATIN = ((0x0000, 0x00FF), (0x0131, 0x0131), (0x0152, 0x0153), (0x02BB, 0x02BC), (0x02C6, 0x02C6),
         (0x02DA, 0x02DA), (0x02DC, 0x02DC), (0x0304, 0x0304), (0x0308, 0x0308), (0x0329, 0x0329),
         (0x2000, 0x206F), (0x20AC, 0x20AC), (0x20B9, 0x20B9), (0x2122, 0x2122), (0x2190, 0x2193),
         (0x2212, 0x2212), (0x2215, 0x2215), (0xFEFF, 0xFEFF), (0xFFFD, 0xFFFD))
# An Indian script's own block (with its digits, and the dandas that Bengali borrows from
# Devanagari's), the joiners that pick a conjunct's form, and the dotted circle a shaper draws under
# a lone matra. Not the Vedic and cantillation blocks: SMS and notes do not use them. ASCII digits
# and punctuation are not here either: they come from the Latin face, so an English-only page never
# downloads an Indian one.
JOINERS = ((0x200C, 0x200D), (0x25CC, 0x25CC))
DEVANAGARI = ((0x0900, 0x097F), *JOINERS)
BENGALI = ((0x0964, 0x0965), (0x0980, 0x09FF), *JOINERS)
OL_CHIKI = ((0x1C50, 0x1C7F), *JOINERS)


@dataclass(frozen=True)
class Face:
    name: str  # in the URL
    family: str  # the CSS family name: console.css lists these, a test reads them back from Chromium
    file: str  # in the font directory
    weight: int
    ranges: tuple[tuple[int, int], ...]
    # OpenType features kept: every one for the Indian scripts (akhn, half, rphf, pres, abvs, blws…:
    # conjuncts and matras shape as with the full font); fontTools' default list for Latin (kern,
    # liga, marks: English needs no small capitals or old-style figures, a third of the file).
    features: tuple[str, ...] = ("*",)

    def codepoints(self) -> list[int]:
        return [code for low, high in self.ranges for code in range(low, high + 1)]

    def unicode_range(self) -> str:
        return ", ".join(f"U+{low:04X}" if low == high else f"U+{low:04X}-{high:04X}" for low, high in self.ranges)


# Indian scripts in one weight: bold Hindi is rare on these pages, and the browser thickens the
# regular face for it rather than fetch a second one. Headings and table headers are bold Latin.
FACES = (
    Face("latin-400", "CPGW Noto Sans", "NotoSans-Regular.ttf", 400, LATIN, features=()),
    Face("latin-700", "CPGW Noto Sans", "NotoSans-Bold.ttf", 700, LATIN, features=()),
    Face("devanagari-400", "CPGW Noto Devanagari", "NotoSansDevanagari-Regular.ttf", 400, DEVANAGARI),
    Face("bengali-400", "CPGW Noto Bengali", "NotoSansBengali-Regular.ttf", 400, BENGALI),
    Face("olchiki-400", "CPGW Noto Ol Chiki", "NotoSansOlChiki-Regular.ttf", 400, OL_CHIKI),
)
BY_NAME = {face.name: face for face in FACES}


def _digest(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:12]


def version(face: Face, folder: Path | None = None) -> str | None:
    """The face's version (its file's size and time, and the subsetting's), or None when it is missing."""
    try:
        found = ((folder or font_dir()) / face.file).stat()
    except OSError:
        return None
    return _digest(SUBSET_VERSION, face.file, found.st_size, found.st_mtime_ns)


def _present(folder: Path) -> list[tuple[Face, str]]:
    present = [(face, found) for face in FACES if (found := version(face, folder)) is not None]
    if len(present) < len(FACES):
        names = {face.name for face, _ in present}
        missing = sorted(face.file for face in FACES if face.name not in names)
        _warn_once(f"missing:{folder}:{','.join(missing)}", "console fonts missing: pages fall back to the browser's "
                   "fonts (apt-get install fonts-noto-core, or set CPGW_FONT_DIR)",
                   {"font_dir": str(folder), "missing": missing})
    return present


def stylesheet() -> tuple[str, str]:
    """The @font-face rules for the faces present, and their version (for the stylesheet's URL)."""
    folder = font_dir()
    present = _present(folder)
    rules = [
        f'@font-face {{ font-family: "{face.family}"; src: url({PREFIX}/{face.name}.woff2?v={found}) format("woff2"); '
        f"font-weight: {face.weight}; font-style: normal; font-display: swap; unicode-range: {face.unicode_range()}; }}"
        for face, found in present
    ]
    css = "/* Noto fonts from fonts-noto-core, cut to the console's scripts (gateway/web/console/fonts.py). */\n"
    return css + "\n".join(rules) + "\n", _digest(SUBSET_VERSION, *(found for _, found in present))


def stylesheet_url() -> str:
    """For base.html: the stylesheet's versioned URL (a few stat calls; nothing is built)."""
    return f"{PREFIX}/fonts.css?v={stylesheet()[1]}"


# face name -> (version, WOFF2 bytes); one lock per face, so two first requests build it once and a
# request for another face does not wait behind it.
_built: dict[str, tuple[str, bytes]] = {}
_locks = {face.name: threading.Lock() for face in FACES}
_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str, extra: dict[str, object]) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, extra=extra)


def subset(path: Path, codepoints: list[int], features: tuple[str, ...] = ("*",)) -> bytes:
    """`path` cut to `codepoints` and the glyphs that `features` (empty: fontTools' default list)
    reach from them, unhinted, as WOFF2."""
    # Imported on first use: a process that serves no font pays nothing for it.
    from fontTools import subset as subsetter

    options = subsetter.Options()
    if features:
        options.layout_features = list(features)
    options.hinting = False
    options.flavor = "woff2"
    font = subsetter.load_font(str(path), options)
    try:
        cutter = subsetter.Subsetter(options)
        cutter.populate(unicodes=codepoints)
        cutter.subset(font)
        out = io.BytesIO()
        subsetter.save_font(font, out, options)
    finally:
        font.close()
    return out.getvalue()


def woff2(face: Face) -> tuple[str, bytes] | None:
    """The face as WOFF2 with its version, built on first use; None when its file is missing or unreadable."""
    folder = font_dir()
    current = version(face, folder)
    if current is None:
        _present(folder)  # logs, once, what is missing
        return None
    with _locks[face.name]:
        cached = _built.get(face.name)
        if cached is not None and cached[0] == current:
            return cached
        try:
            data = subset(folder / face.file, face.codepoints(), face.features)
        except Exception:  # noqa: BLE001  (a damaged file can fail anywhere in fontTools; the page must not)
            _warn_once(f"broken:{folder / face.file}:{current}", "console font unreadable: pages fall back to the "
                       "browser's fonts", {"font_file": str(folder / face.file)})
            return None
        _built[face.name] = (current, data)
        return current, data


def _caching(request: Request, current: str) -> dict[str, str]:
    """A year for the URL our stylesheet gave; revalidation for any other (a stale or hand-typed one)."""
    fixed = request.query_params.get("v") == current
    return {"Cache-Control": IMMUTABLE if fixed else REVALIDATE, "ETag": f'"{current}"',
            "X-Content-Type-Options": "nosniff"}


def _not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return None


def serve_stylesheet(request: Request) -> Response:
    css, current = stylesheet()
    headers = _caching(request, current)
    return _not_modified(request, headers) or Response(css, media_type="text/css", headers=headers)


def serve_face(request: Request) -> Response:
    face = BY_NAME.get(request.path_params["name"])
    built = woff2(face) if face else None
    if built is None:
        return Response("no such font here", status_code=404, media_type="text/plain",
                        headers={"Cache-Control": REVALIDATE})
    current, data = built
    headers = _caching(request, current)
    return _not_modified(request, headers) or Response(data, media_type="font/woff2", headers=headers)


def router() -> Router:
    """Mounted at PREFIX; sync handlers, so the subsetting runs on a worker thread, not the event loop.

    No sign-in needed: the login page needs the fonts too, and they hold nothing but Noto's glyphs.
    """
    return Router([Route("/fonts.css", serve_stylesheet), Route("/{name}.woff2", serve_face)])
