"""Menu files are data a programme officer edits: mistakes are refused with the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from menus.catalog import TEXTS_DIR, CatalogError, load_catalog

EN = (TEXTS_DIR / "en.yaml").read_text(encoding="utf-8")


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_shipped_catalog_loads_with_every_language(catalog):
    assert catalog.codes[:5] == ["en", "hi", "hi_latn", "bn", "sat_latn"]


def test_missing_translation_falls_back_to_english(tmp_path):
    write(tmp_path, "en.yaml", EN)
    write(tmp_path, "hi.yaml", 'language: hi\nlabel: "हिंदी"\ntexts:\n  home.title: "बाल सुरक्षा"\n')
    catalog = load_catalog(tmp_path)
    assert catalog.text("hi", "home.title") == "बाल सुरक्षा"
    assert catalog.text("hi", "home.report") == "Tell us about a child"
    assert catalog.text("xx", "home.report") == "Tell us about a child"


@pytest.mark.parametrize(
    ("hindi", "message"),
    [
        ('language: hi\nlabel: "हिंदी"\ntexts:\n  home.titel: "x"\n', "hi.yaml: unknown key 'home.titel'"),
        ('language: hi\nlabel: "हिंदी"\ntexts:\n  sent: "भेजा {reff}"\n', "hi.yaml: key 'sent' must use the placeholders ['ref']"),
        ('language: hi\nlabel: "हिंदी"\ntexts:\n  home.title: ""\n', "hi.yaml: key 'home.title' must be a non-empty text"),
        ('language: hi\nlabel: "हिंदी"\ntexts:\n  yes: "हाँ"\n', "hi.yaml: key True is not a text"),
        ('language: bn\nlabel: "x"\ntexts:\n  home.title: "x"\n', "hi.yaml: key 'language' must be the file's name"),
        ('language: hi\ntexts:\n  home.title: "x"\n', "hi.yaml: key 'label'"),
        ('language: hi\nlabel: "x"\ntexts: [\n', "hi.yaml: not valid UTF-8 YAML"),
        ('language: hi\nlabel: "x"\ntexts:\n  sent: "{ref"\n', "hi.yaml: key 'sent' has a broken placeholder"),
    ],
)
def test_broken_translations_are_refused_naming_file_and_key(tmp_path, hindi, message):
    write(tmp_path, "en.yaml", EN)
    write(tmp_path, "hi.yaml", hindi)
    with pytest.raises(CatalogError) as raised:
        load_catalog(tmp_path)
    assert message in str(raised.value)


def test_english_must_hold_every_key_the_engine_uses(tmp_path):
    write(tmp_path, "en.yaml", EN.replace('  more: "More"\n', ""))
    with pytest.raises(CatalogError, match="en.yaml: missing key 'more'"):
        load_catalog(tmp_path, required=["more"])


def test_no_english_file_is_refused(tmp_path):
    write(tmp_path, "hi.yaml", 'language: hi\nlabel: "हिंदी"\ntexts:\n  home.title: "x"\n')
    with pytest.raises(CatalogError, match="no en.yaml"):
        load_catalog(tmp_path)


def test_review_marks_and_two_part_sms_are_read_and_checked(tmp_path):
    write(tmp_path, "en.yaml", EN)
    write(tmp_path, "hi.yaml", 'language: hi\nlabel: "हिंदी"\nunreviewed: [home.title]\ntexts:\n'
                               '  home.title: "बाल सुरक्षा"\n  home.help: "मदद के नंबर"\n')
    catalog = load_catalog(tmp_path)
    assert not catalog.reviewed("hi", "home.title") and catalog.reviewed("hi", "home.help")
    assert not catalog.reviewed("hi", "home.report")  # no Hindi text: English shows, nobody reviewed that
    assert catalog.segments("sms.alert") == 2 and catalog.segments("sms.reminder") == 1
    write(tmp_path, "hi.yaml", 'language: hi\nlabel: "हिंदी"\nunreviewed: [home.titel]\ntexts:\n  home.title: "x"\n')
    with pytest.raises(CatalogError, match="hi.yaml: unreviewed: unknown key 'home.titel'"):
        load_catalog(tmp_path)
    write(tmp_path, "hi.yaml", 'language: hi\nlabel: "हिंदी"\nunreviewed: some\ntexts:\n  home.title: "x"\n')
    with pytest.raises(CatalogError, match="hi.yaml: key 'unreviewed' must be 'all' or a list of keys"):
        load_catalog(tmp_path)


def test_a_deployments_texts_directory_is_laid_over_the_shipped_files(tmp_path):
    write(tmp_path, "hi.yaml", 'language: hi\nlabel: "हिंदी"\nunreviewed: all\ntexts:\n  home.help: "हेल्पलाइन"\n')
    write(tmp_path, "mr.yaml", 'language: mr\nlabel: "मराठी"\ntexts:\n  home.help: "मदत क्रमांक"\n')
    shipped, catalog = load_catalog(), load_catalog(overlay=tmp_path)
    assert catalog.text("hi", "home.help") == "हेल्पलाइन" and not catalog.reviewed("hi", "home.help")
    assert catalog.text("hi", "home.report") == shipped.text("hi", "home.report")  # the rest as shipped
    assert catalog.codes[-1] == "mr" and catalog.text("mr", "home.report") == shipped.text("en", "home.report")
    assert load_catalog(overlay=tmp_path / "missing").codes == shipped.codes


def test_santali_comes_in_three_scripts_all_awaiting_review(catalog):
    assert catalog.codes == ["en", "hi", "hi_latn", "bn", "sat_latn", "sat_olck", "sat_beng"]
    for code in ("sat_latn", "sat_olck", "sat_beng"):
        assert not any(catalog.reviewed(code, key) for key in catalog.languages["en"].texts)
    assert all("\u1c50" <= ch <= "\u1c7f" for ch in catalog.text("sat_olck", "home.title").replace(" ", ""))
    assert catalog.text("hi", "invalid") != "गलत चुनाव।" and "चुनाव" not in catalog.text("hi", "invalid")
    assert catalog.text("hi", "home.report") == "बच्चे की खबर दें" and "लिख लें" in catalog.text("hi", "sent")
    assert len({catalog.text("sat_latn", key) for key in ("more", "sms.reminder", "check.bad_ref")}) == 3
