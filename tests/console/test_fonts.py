"""The console's own fonts (gateway/web/console/fonts.py): Noto from fonts-noto-core cut to each script,
served as WOFF2 under versioned URLs, shaping Indian conjuncts exactly as the full fonts do, and a
page that still works when the files are missing. Chromium's view of them is in test_browser.py."""

from __future__ import annotations

import io
import logging
import re
import threading
from itertools import groupby

import pytest
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont

from gateway.web.console import fonts, static_url

MISSING = [face.file for face in fonts.FACES if not (fonts.font_dir() / face.file).is_file()]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"no {', '.join(MISSING)} in {fonts.font_dir()}: apt-get install fonts-noto-core (make test does)")
STYLESHEET = re.compile(r'href="(/console/fonts/fonts\.css\?v=[0-9a-f]{12})"')
FACE_RULE = re.compile(r'@font-face \{ font-family: "([^"]+)"; src: url\((/console/fonts/([a-z0-9-]+)\.woff2\?v=[0-9a-f]{12})\) '
                       r'format\("woff2"\); font-weight: (\d+); font-style: normal; font-display: swap; unicode-range: ([^;]+); \}')
# Conjuncts, reph, half forms and pre-base matras: what breaks when a subset drops a feature or a glyph.
SAMPLES = {
    "devanagari-400": "बाल सुरक्षा अलर्ट: कार्रवाई के लिए क्षेत्र प्रधान, द्वितीय श्रृंखला। ०१२३",
    "bengali-400": "শিশু সুরক্ষা সতর্কতা: ক্ষেত্র, স্ত্রী, কার্যালয়, সাহায্য। ০১২৩",
    "olchiki-400": "ᱥᱟᱱᱛᱟᱲᱤ ᱚᱞ ᱪᱤᱠᱤ ᱑᱒᱓",
    "latin-400": "Case 123456789 — acknowledged by DCPU · ₹ 500 ← Queue “quoted”",
    "latin-700": "Case queue: PAST DEADLINE",
}


@pytest.fixture(autouse=True)
def fresh(monkeypatch):  # type: ignore[no-untyped-def]
    """Each test builds its faces and warns as a new process would."""
    monkeypatch.setattr(fonts, "_built", {})
    monkeypatch.setattr(fonts, "_warned", set())


def _stylesheet(client) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    page = client.get("/console/login")
    assert page.status_code == 200
    url = STYLESHEET.search(page.text)
    assert url, "the page links no font stylesheet"
    return url.group(1), client.get(url.group(1))


def _woff_to_ttf(data: bytes) -> TTFont:
    assert data[:4] == b"wOF2"
    font = TTFont(io.BytesIO(data))
    font.flavor = None
    out = io.BytesIO()
    font.save(out)
    return TTFont(io.BytesIO(out.getvalue()))


def _shaped(font: TTFont, text: str) -> list[tuple[list, int, int, int]]:
    """HarfBuzz's glyphs for `text`, as outlines and positions, so that two fonts that number their
    glyphs differently (a subset renumbers) can be compared."""
    import uharfbuzz as hb

    out = io.BytesIO()
    font.save(out)
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(hb.Font(hb.Face(out.getvalue())), buffer, {})
    order, glyphs = font.getGlyphOrder(), font.getGlyphSet()
    shaped = []
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
        assert info.codepoint != 0, f"{text!r}: .notdef (a box) for cluster {info.cluster}"
        pen = DecomposingRecordingPen(glyphs)  # outlines, not component names (the subset renames)
        glyphs[order[info.codepoint]].draw(pen)
        shaped.append((pen.value, position.x_advance, position.x_offset, position.y_offset))
    return shaped


def test_every_face_is_declared_for_its_script_with_swap_and_a_versioned_url(client):
    _, response = _stylesheet(client)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == fonts.IMMUTABLE
    rules = {name: (family, url, int(weight), ranges) for family, url, name, weight, ranges in FACE_RULE.findall(response.text)}
    assert rules.keys() == {face.name for face in fonts.FACES}, response.text
    assert {rules[name][0] for name in rules} == {"CPGW Noto Sans", "CPGW Noto Devanagari", "CPGW Noto Bengali",
                                                  "CPGW Noto Ol Chiki"}
    assert "U+0900-097F" in rules["devanagari-400"][3] and "U+0980-09FF" in rules["bengali-400"][3]
    assert "U+1C50-1C7F" in rules["olchiki-400"][3] and "U+0000-00FF" in rules["latin-400"][3]
    # Only Latin covers ASCII: a page in English never downloads an Indian face.
    assert all("U+0000" not in rules[name][3] for name in rules if not name.startswith("latin"))
    css = client.get(static_url("console.css")).text
    assert all(f'"{family}"' in css for family in {rule[0] for rule in rules.values()})


def test_each_face_is_woff2_cut_to_its_script_and_cached_for_a_year(client):
    _, response = _stylesheet(client)
    for _family, url, name, _weight, _ranges in FACE_RULE.findall(response.text):
        face = fonts.BY_NAME[name]
        served = client.get(url)
        assert served.status_code == 200, name
        assert served.headers["content-type"] == "font/woff2" and served.headers["cache-control"] == fonts.IMMUTABLE
        font = _woff_to_ttf(served.content)
        cmap = set(font.getBestCmap())
        full = set(TTFont(fonts.font_dir() / face.file).getBestCmap())
        assert cmap == full & set(face.codepoints()), name  # all of its script the font has, nothing else
        assert len(served.content) < (fonts.font_dir() / face.file).stat().st_size / 2, name
        # The same bytes under another version, or none: not to be kept for a year.
        assert client.get(url.split("?")[0]).headers["cache-control"] == fonts.REVALIDATE
        again = client.get(url, headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_cut_faces_shape_text_exactly_as_the_full_fonts(name):
    face = fonts.BY_NAME[name]
    version, data = fonts.woff2(face)  # type: ignore[misc]
    assert version == fonts.version(face)
    full, cut = TTFont(fonts.font_dir() / face.file), _woff_to_ttf(data)
    # The runs the browser gives this face: spaces, ASCII digits and commas come from the Latin one.
    ours = set(face.codepoints()) & set(full.getBestCmap())  # a glyph the font lacks falls back in the browser too
    runs = ["".join(run) for inside, run in groupby(SAMPLES[name], key=lambda c: ord(c) in ours) if inside]
    assert runs
    for run in runs:
        assert _shaped(cut, run) == _shaped(full, run), run


def test_a_face_is_built_once_per_process_even_when_asked_for_at_once(monkeypatch):
    calls = []
    real = fonts.subset

    def counting(*args):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(fonts, "subset", counting)
    face = fonts.BY_NAME["devanagari-400"]
    start = threading.Barrier(4)
    results: list[object] = []

    def ask() -> None:
        start.wait()
        results.append(fonts.woff2(face))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fonts.woff2(face) == results[0] and all(result == results[0] for result in results)
    assert len(calls) == 1


def test_without_the_font_files_pages_fall_back_and_the_log_says_once_what_to_install(client, monkeypatch, tmp_path,
                                                                                   caplog):
    caplog.set_level(logging.WARNING, logger="cpgw.console")
    monkeypatch.setenv("CPGW_FONT_DIR", str(tmp_path))
    _, css = _stylesheet(client)
    assert css.status_code == 200 and "@font-face" not in css.text
    for face in fonts.FACES:
        assert client.get(f"/console/fonts/{face.name}.woff2").status_code == 404
    assert client.get("/console/login").status_code == 200
    warnings = [r for r in caplog.records if r.name == "cpgw.console" and "fonts-noto-core" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].font_dir == str(tmp_path)  # type: ignore[attr-defined]


def test_a_missing_or_damaged_file_takes_only_its_own_face_away(client, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="cpgw.console")
    for face in fonts.FACES:
        if face.name == "bengali-400":
            continue
        (tmp_path / face.file).symlink_to(fonts.font_dir() / face.file)
    (tmp_path / "NotoSansOlChiki-Regular.ttf").unlink()
    (tmp_path / "NotoSansOlChiki-Regular.ttf").write_bytes(b"not a font at all" * 100)
    monkeypatch.setenv("CPGW_FONT_DIR", str(tmp_path))
    _, css = _stylesheet(client)
    declared = {name for _, _, name, _, _ in FACE_RULE.findall(css.text)}
    assert declared == {face.name for face in fonts.FACES} - {"bengali-400"}
    assert client.get("/console/fonts/bengali-400.woff2").status_code == 404
    assert client.get("/console/fonts/olchiki-400.woff2").status_code == 404  # damaged: no 500
    assert client.get("/console/fonts/devanagari-400.woff2").status_code == 200
    assert client.get("/console/fonts/nonsense.woff2").status_code == 404
    assert any("unreadable" in r.getMessage() for r in caplog.records if r.name == "cpgw.console")


def test_the_script_and_stylesheet_are_cached_for_a_year_at_their_versioned_urls(client):
    page = client.get("/console/login").text
    for name in ("console.css", "console.js"):
        url = static_url(name)
        assert f'"{url}"' in page
        response = client.get(url)
        assert response.status_code == 200 and response.headers["cache-control"] == fonts.IMMUTABLE
        assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get(f"/console/static/{name}").headers["cache-control"] == "no-cache"
        assert client.get(f"/console/static/{name}?v=0000").headers["cache-control"] == "no-cache"
