"""Village-code posters: what a villager finds on the wall, read back from the PDF as a reader and a
printer see it (pdfium's text and pixels), Indian scripts shaped, the same bytes every run."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
import uharfbuzz as hb
from fpdf import FPDF
from PIL import ImageChops

from gateway.channels.posters import (
    POSTER_LANGUAGES,
    PosterBlock,
    PosterError,
    PosterPanchayat,
    PosterVillage,
    _balanced,
    _columns,
    render_posters,
)
from gateway.infra.fonts import font_dir
from menus.catalog import CatalogError
from menus.posters import POSTERS_FILE, load_poster_texts

FONT_DIR = font_dir()
needs_fonts = pytest.mark.skipif(
    not (FONT_DIR / "NotoSansDevanagari-Regular.ttf").is_file(),
    reason=f"no Noto fonts in {FONT_DIR}: apt-get install fonts-noto-core (make test does)")
USSD = "*384*777#"
SMS = "9223166166"

# A Jharkhand block (local names in Devanagari) for every poster but those in Bengali letters
# (Bengali, Santali in Bengali script), which get a West Bengal block, and the Ol Chiki one, whose
# block has Ol Chiki names (LGD's local names in that script). Names carry what shaping must get
# right: conjuncts (क्ष, त्र, ক্ষ) and the vowel sign i written before its consonant (शि, শি).
HINDI = {"panchayat": ("Kshetrapal", "क्षेत्रपाल"),
         "villages": [("Lakshmipur", "लक्ष्मीपुर"), ("Shivpur", "शिवपुर"), ("Kshetra Tola", "क्षेत्र टोला")],
         "many": ("Tola {n}", "टोला {n}"), "block": ("Kanke", "कांके"), "district": ("Ranchi", "राँची")}
BENGALI = {"panchayat": ("Kshetrapal", "ক্ষেত্রপাল"),
           "villages": [("Lakshmipur", "লক্ষ্মীপুর"), ("Shibpur", "শিবপুর"), ("Shishugram", "শিশুগ্রাম")],
           "many": ("Para {n}", "পাড়া {n}"), "block": ("Purulia II", "পুরুলিয়া ২"),
           "district": ("Purulia", "পুরুলিয়া")}
OL_CHIKI = {"panchayat": ("Kshetrapal", "ᱠᱷᱮᱛᱨᱚᱯᱟᱞ"),
            "villages": [("Lakshmipur", "ᱞᱚᱠᱷᱤᱯᱩᱨ"), ("Shivpur", "ᱥᱤᱵᱽᱯᱩᱨ"), ("Dumka", "ᱫᱩᱢᱠᱟ")],
            "many": ("Tola {n}", "ᱴᱚᱞᱟ {n}"), "block": ("Kanke", "ᱠᱟᱸᱠᱮ"), "district": ("Ranchi", "ᱨᱟᱧᱪᱤ")}
SAMPLES = {"bn": BENGALI, "sat_beng": BENGALI, "sat_olck": OL_CHIKI}
SECOND_PANCHAYAT = 60  # villages: more than one page holds in any language


def sample_block(lang: str) -> PosterBlock:
    """Two gram panchayats: three villages in the first, enough in the second for two pages or more."""
    names = SAMPLES.get(lang, HINDI)
    first = PosterPanchayat(
        code=201001, name=names["panchayat"][0], local_name=names["panchayat"][1],
        villages=tuple(PosterVillage(code=370101 + i, name=n, local_name=local)
                       for i, (n, local) in enumerate(names["villages"])))
    english, local = names["many"]
    second = PosterPanchayat(
        code=201002, name="Barkagaon", local_name=None,
        villages=tuple(PosterVillage(code=380100 + n, name=english.format(n=n), local_name=local.format(n=n))
                       for n in range(SECOND_PANCHAYAT)))
    return PosterBlock(code=2601, name=names["block"][0], local_name=names["block"][1], district=names["district"][0],
                       district_local=names["district"][1], panchayats=(first, second))


@dataclass
class Rendered:
    path: Path
    pages: int
    texts: list[str]  # each page's text as pdfium extracts it


def render(lang: str, out: Path, block: PosterBlock | None = None, sms_number: str | None = SMS) -> Rendered:
    pages = render_posters(block or sample_block(lang), lang, out, ussd_code=USSD, sms_number=sms_number)
    document = pypdfium2.PdfDocument(out)
    try:
        texts = [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()
    return Rendered(out, pages, texts)


@pytest.fixture(scope="module")
def posters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every language's posters, rendered once for the module."""
    if not (FONT_DIR / "NotoSansDevanagari-Regular.ttf").is_file():
        pytest.skip(f"no Noto fonts in {FONT_DIR}")
    directory = tmp_path_factory.mktemp("posters")
    return {lang: render(lang, directory / f"{lang}.pdf") for lang in POSTER_LANGUAGES}


def loose(word: str) -> str:
    """A pattern for `word` in pdfium's text of a shaped line. fpdf2 maps every glyph of a
    multi-glyph cluster (শি is drawn as ি then শ) to the cluster's letters on its first glyph
    and leaves the others unmapped, so pdfium reads a stray character or two after such a
    cluster (py-pdf/fpdf2 #1187): the letters must come in order, with at most that in between."""
    return "(?s)" + ".{0,2}".join(map(re.escape, word))


# --- pages and what a reader finds on them ----------------------------------------------------------


@needs_fonts
@pytest.mark.parametrize("lang", POSTER_LANGUAGES)
def test_one_page_per_panchayat_and_continued_pages_for_a_long_list(posters, lang):
    rendered = posters[lang]
    texts = [" ".join(text.split()) for text in rendered.texts]  # pdfium breaks lines with \r\n
    assert rendered.pages == len(texts) >= 3
    first, *second = texts
    assert "Kshetrapal (201001)" in first and "Barkagaon (201002)" not in first
    assert len(second) >= 2 and all("Barkagaon (201002)" in text for text in second)
    english = load_poster_texts()["en"]
    assert english["continued"] not in second[0]
    assert all(english["continued"] in text for text in second[1:])
    assert all(english["more"] in text for text in second[:-1]) and english["more"] not in second[-1]
    for panchayat, pages in ((sample_block(lang).panchayats[0], [first]), (sample_block(lang).panchayats[1], second)):
        for village in panchayat.villages:
            on = [page for page in pages if re.search(rf"\b{village.code}\b", page)]
            assert len(on) == 1, f"village code {village.code} is on {len(on)} pages"


@needs_fonts
@pytest.mark.parametrize("lang", POSTER_LANGUAGES)
def test_every_page_renders_in_black_and_white(posters, lang, tmp_path):
    document = pypdfium2.PdfDocument(posters[lang].path)
    try:
        for number, page in enumerate(document):
            image = page.render(scale=100 / 72).to_pil().convert("RGB")
            image.save(tmp_path / f"{lang}-{number}.png")
            red, green, blue = image.split()
            assert ImageChops.difference(red, green).getbbox() is None, "a colour on the page"
            assert ImageChops.difference(green, blue).getbbox() is None, "a colour on the page"
            histogram = image.convert("L").histogram()
            assert sum(histogram[:128]) / sum(histogram) > 0.02, f"page {number + 1} is blank"
    finally:
        document.close()


@needs_fonts
@pytest.mark.parametrize("lang", ["hi", "bn", "sat_olck", "sat_beng"])
def test_the_panchayat_is_named_in_the_states_script_and_in_english(posters, lang):
    first = posters[lang].texts[0]
    panchayat = sample_block(lang).panchayats[0]
    assert re.search(loose(panchayat.local_name or ""), first)
    assert f"Gram panchayat {panchayat.name}" in first


@needs_fonts
def test_an_english_poster_has_english_alone(posters):
    first = posters["en"].texts[0]
    assert "Dial *384*777#" in first
    assert not re.search("[\u0900-\u09ff]", first)


@needs_fonts
def test_the_sms_line_only_when_there_is_an_sms_number(tmp_path):
    with_sms = render("en", tmp_path / "sms.pdf")
    without = render("en", tmp_path / "nosms.pdf", sms_number=None)
    assert SMS in with_sms.texts[0]
    assert SMS not in without.texts[0] and "SMS" not in without.texts[0]


@needs_fonts
def test_a_panchayat_without_villages_still_gets_its_page(tmp_path):
    block = sample_block("hi")
    empty = replace(block, panchayats=(replace(block.panchayats[0], villages=()),))
    rendered = render("hi", tmp_path / "empty.pdf", block=empty)
    assert rendered.pages == 1
    assert USSD in rendered.texts[0] and "Find your village" not in rendered.texts[0]


# --- shaping -------------------------------------------------------------------------------------

CONJUNCTS = {"hi": ["क्षेत्र", "लक्ष्मीपुर"], "bn": ["ক্ষেত্রপাল", "লক্ষ্মীপুর"]}
PREBASE_I = {"hi": ("शिवपुर", "ि"), "bn": ("শিবপুর", "ি")}
CONJUNCTS["sat_beng"], PREBASE_I["sat_beng"] = CONJUNCTS["bn"], PREBASE_I["bn"]  # the same letters


def word_boxes(document: pypdfium2.PdfDocument, word: str) -> tuple[list[tuple[float, ...]], float, Path]:
    """pdfium's boxes of the characters of `word`'s first appearance, its font size and font file."""
    for page in document:
        textpage = page.get_textpage()
        # One character per pdfium index (a glyph mapped to nothing reads as ""), so that a match's
        # span in the string is a span of pdfium's characters.
        text = "".join(textpage.get_text_range(index, 1) or "\ufffd" for index in range(textpage.count_chars()))
        found = re.search(loose(word), text)
        if found:
            boxes = [textpage.get_charbox(index) for index in range(found.start(), found.end())]
            size = pdfium_c.FPDFText_GetFontSize(textpage.raw, found.start())
            name = ctypes.create_string_buffer(128)
            pdfium_c.FPDFText_GetFontInfo(textpage.raw, found.start(), name, len(name), None)
            return boxes, size, font_file(name.value.decode())
    raise AssertionError(f"{word!r} is not on the poster")


def font_file(embedded: str) -> Path:
    """The file of a font embedded as "MPDFAA+NotoSansBengali" or "MPDFAB+NotoSansBengaliBold"."""
    name = embedded.split("+")[-1]
    return FONT_DIR / (f"{name.removesuffix('Bold')}-Bold.ttf" if name.endswith("Bold") else f"{name}-Regular.ttf")


def harfbuzz_widths(path: Path, word: str) -> tuple[float, float]:
    """`word`'s advance in em, shaped by HarfBuzz and letter by letter (what an unshaped PDF draws)."""
    face = hb.Face(hb.Blob.from_file_path(str(path)))
    font = hb.Font(face)
    buffer = hb.Buffer()
    buffer.add_str(word)
    buffer.guess_segment_properties()
    hb.shape(font, buffer, {})
    shaped = sum(position.x_advance for position in buffer.glyph_positions)
    unshaped = sum(font.get_glyph_h_advance(font.get_nominal_glyph(ord(char)) or 0) for char in word)
    return shaped / face.upem, unshaped / face.upem


def conjuncts_joined(path: Path, word: str) -> bool:
    """True when `word` is drawn as wide as HarfBuzz shapes it rather than as its letters side by side.

    The poster's own drawing is measured (pdfium's glyph boxes of the word, in ems of the size it is
    set in) and compared with HarfBuzz shaping the word directly, in the font file the PDF embeds.
    A conjunct joins two or three letters into one glyph (क्ष), so an unshaped word is 30-80 %
    wider: the measure must be far nearer the shaped advance than the unshaped one. Ink is a little
    narrower than the advance; that is small beside the gap, and nothing here depends on the layout
    or on where the word sits.
    """
    document = pypdfium2.PdfDocument(path)
    try:
        boxes, size, font = word_boxes(document, word)
    finally:
        document.close()
    drawn = (max(box[2] for box in boxes) - min(box[0] for box in boxes)) / size
    shaped, unshaped = harfbuzz_widths(font, word)
    assert unshaped > shaped * 1.2, f"{word!r} does not test conjuncts"
    return abs(drawn - shaped) < abs(drawn - unshaped) / 2


def vowel_sign_first(path: Path, word: str, sign: str) -> bool:
    """True when the vowel sign i (ि, ি), typed after its consonant, is drawn before it.

    Shaped, the syllable is one cluster whose first glyph is the sign, so pdfium gives the consonant
    and the sign the same box; unshaped, the sign is a glyph of its own, after the consonant, most of
    an em to the right. Compared in ems, so neither the size nor the place of the word matters."""
    document = pypdfium2.PdfDocument(path)
    try:
        boxes, size, _ = word_boxes(document, word)
    finally:
        document.close()
    consonant, vowel = boxes[word.index(sign) - 1], boxes[word.index(sign)]
    return (vowel[0] - consonant[0]) / size < 0.25


@needs_fonts
@pytest.mark.parametrize("lang", ["hi", "bn", "sat_beng"])
def test_conjuncts_and_vowel_signs_are_shaped(posters, lang):
    for word in CONJUNCTS[lang]:
        assert conjuncts_joined(posters[lang].path, word), f"{word!r} drawn letter by letter"
    assert vowel_sign_first(posters[lang].path, *PREBASE_I[lang])


@needs_fonts
def test_ol_chiki_is_drawn_in_the_ol_chiki_font_with_a_glyph_for_every_letter(posters):
    """Ol Chiki joins no letters, so what can go wrong is a font without them (boxes for letters):
    the title and a village's name are drawn in Noto Sans Ol Chiki, whose every letter is in it."""
    title = load_poster_texts()["sat_olck"]["title"].split()[0]
    for word in (title, OL_CHIKI["villages"][0][1]):
        document = pypdfium2.PdfDocument(posters["sat_olck"].path)
        try:
            boxes, size, font = word_boxes(document, word)
        finally:
            document.close()
        assert font.name.startswith("NotoSansOlChiki-"), (word, font)
        face = hb.Font(hb.Face(hb.Blob.from_file_path(str(font))))
        assert all(face.get_nominal_glyph(ord(char)) for char in word), f"{word!r} has letters {font.name} lacks"
        drawn = (max(box[2] for box in boxes) - min(box[0] for box in boxes)) / size
        assert drawn == pytest.approx(harfbuzz_widths(font, word)[0], rel=0.25), word


@needs_fonts
@pytest.mark.parametrize("lang", ["hi_latn", "sat_latn"])
def test_names_in_the_states_script_are_shaped_on_posters_in_latin_letters(posters, lang):
    assert all(conjuncts_joined(posters[lang].path, word) for word in CONJUNCTS["hi"])
    assert vowel_sign_first(posters[lang].path, *PREBASE_I["hi"])


@needs_fonts
@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_the_shaping_checks_fail_on_a_poster_drawn_without_shaping(monkeypatch, tmp_path, lang):
    """The two checks above would catch a poster drawn with shaping off."""
    monkeypatch.setattr(FPDF, "set_text_shaping", lambda self, *args, **kwargs: None)
    rendered = render(lang, tmp_path / "unshaped.pdf")
    assert not any(conjuncts_joined(rendered.path, word) for word in CONJUNCTS[lang])
    assert not vowel_sign_first(rendered.path, *PREBASE_I[lang])


# --- the file, and what stops it -------------------------------------------------------------------


@needs_fonts
def test_the_same_directory_gives_the_same_bytes(tmp_path):
    first = render("bn", tmp_path / "a.pdf").path.read_bytes()
    second = render("bn", tmp_path / "b.pdf").path.read_bytes()
    assert first == second


@needs_fonts
def test_the_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    out = tmp_path / "posters.pdf"
    out.write_bytes(b"yesterday's posters")
    render("hi", out)
    assert out.read_bytes().startswith(b"%PDF-")
    assert [path.name for path in tmp_path.iterdir()] == ["posters.pdf"]


def test_missing_fonts_are_named_with_the_package_to_install(tmp_path):
    out = tmp_path / "posters.pdf"
    with pytest.raises(PosterError) as raised:
        render_posters(sample_block("hi"), "hi", out, ussd_code=USSD, sms_number=SMS, font_dir=tmp_path)
    message = str(raised.value)
    assert "NotoSansDevanagari-Regular.ttf" in message and "NotoSans-Bold.ttf" in message
    assert "apt-get install fonts-noto-core" in message and "CPGW_FONT_DIR" in message
    assert not out.exists()


def test_the_font_directory_comes_from_cpgw_font_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CPGW_FONT_DIR", str(tmp_path / "fonts"))
    with pytest.raises(PosterError, match=re.escape(str(tmp_path / "fonts"))):
        render_posters(sample_block("bn"), "bn", tmp_path / "out.pdf", ussd_code=USSD, sms_number=SMS)


@needs_fonts
def test_only_the_fonts_a_poster_prints_are_needed(tmp_path):
    """An English poster needs no Indian script's font; a Bengali one needs Bengali's, not Devanagari's."""
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name in ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"):
        (fonts / name).symlink_to(FONT_DIR / name)
    assert render_posters(sample_block("en"), "en", tmp_path / "en.pdf", ussd_code=USSD, sms_number=SMS,
                          font_dir=fonts) >= 3
    with pytest.raises(PosterError, match="NotoSansBengali-Regular.ttf") as raised:
        render_posters(sample_block("bn"), "bn", tmp_path / "bn.pdf", ussd_code=USSD, sms_number=SMS, font_dir=fonts)
    assert "Devanagari" not in str(raised.value)


def test_a_block_without_panchayats_is_refused(tmp_path):
    empty = replace(sample_block("hi"), panchayats=())
    with pytest.raises(PosterError, match="no gram panchayats"):
        render_posters(empty, "hi", tmp_path / "out.pdf", ussd_code=USSD, sms_number=SMS)


def test_a_language_without_poster_texts_is_refused(tmp_path):
    with pytest.raises(PosterError, match="'ta'"):
        render_posters(sample_block("hi"), "ta", tmp_path / "out.pdf", ussd_code=USSD, sms_number=SMS)


# --- columns: pure layout --------------------------------------------------------------------------


@pytest.mark.parametrize(("heights", "capacity", "expected"), [
    ([10, 10, 10], 100, [[0, 1, 2]]),  # all in the first column when filling down
    ([10, 10, 10, 10, 10], 25, [[0, 1], [2, 3]]),  # two per column; the fifth waits for the next page
    ([60, 10], 50, [[0], [1]]),  # a row taller than a column still gets one to itself
    ([], 50, [[]]),
])
def test_columns_fill_down_then_across(heights, capacity, expected):
    assert _columns(heights, capacity, 2) == expected


@pytest.mark.parametrize(("heights", "expected"), [
    ([10] * 8, [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ([10] * 7, [[0, 1, 2, 3], [4, 5, 6]]),
    ([30, 10, 10, 10], [[0], [1, 2, 3]]),
])
def test_columns_are_balanced_when_the_page_holds_every_row(heights, expected):
    assert _balanced(heights, 200, 2) == expected


# --- posters.yaml --------------------------------------------------------------------------------


def test_the_shipped_texts_have_every_language():
    texts = load_poster_texts()
    assert set(POSTER_LANGUAGES) <= set(texts)
    assert all("{ussd_code}" in texts[lang]["dial"] for lang in POSTER_LANGUAGES)


def shipped_with(edit: str, replacement: str, tmp_path: Path) -> Path:
    text = POSTERS_FILE.read_text(encoding="utf-8")
    assert edit in text
    path = tmp_path / "posters.yaml"
    path.write_text(text.replace(edit, replacement, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "replacement", "message"), [
    ('    secret: "आपका नाम गुप्त रहेगा"\n', "", "language 'hi': key 'secret' is missing"),
    ('    dial: "{ussd_code} ডায়াল করুন"', '    dial: "{ussd} ডায়াল করুন"',
     "language 'bn': key 'dial' must use the placeholders ['ussd_code'], not ['ussd']"),
    ('    title: "Gidra bipod re? Alan lai me — taka ban lagaoka"', '    title: "  "',
     "language 'sat_latn': key 'title' must be a non-empty text"),
    ('    more: "Aur gaon agle panne par"', '    more: "Aur gaon"\n    mor: "typo"',
     "language 'hi_latn': unknown key 'mor'"),
    ('    sms: "Or send HELP by SMS to {sms_number}: we will ask you the questions"',
     '    sms: "Or send HELP by SMS to {sms_number: we will ask"',
     "language 'en': key 'sms' has a broken placeholder"),
    ("  bn:\n", "  bengali:\n", "language 'bn' is missing"),
    ("languages:\n", "langs:\n", "must hold a 'languages' mapping"),
    ('    title: "Is a child', '    title: "Is a child\n   "broken', "cannot read as UTF-8 YAML"),
])
def test_a_broken_texts_file_names_the_file_the_language_and_the_key(tmp_path, edit, replacement, message):
    with pytest.raises(CatalogError) as raised:
        load_poster_texts(shipped_with(edit, replacement, tmp_path))
    assert str(raised.value).startswith("posters.yaml: ")
    assert message in str(raised.value)
