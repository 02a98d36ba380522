"""The translators' sheet: exported, edited in a spreadsheet, imported back with every error named
by its line (issue 18)."""

from __future__ import annotations

import csv
import io

import pytest

from menus.catalog import Catalog, Language, load_catalog
from menus.translations import COLUMNS, dump_language, export_rows, read_csv, to_csv
from routing.concerns import KEYS
from tests.menus.test_budgets import VALUES

CATALOG = load_catalog()


def sheet(lang: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(to_csv(export_rows(CATALOG, lang, VALUES, KEYS)))))


def test_export_has_the_columns_and_a_row_per_english_key():
    rows = sheet("hi")
    assert list(rows[0]) == list(COLUMNS)
    assert [row["key"] for row in rows] == list(CATALOG.languages["en"].texts)
    sent = next(row for row in rows if row["key"] == "sent")
    assert sent["text"] == "शिकायत नंबर {ref} लिख लें" and sent["screen or SMS"] == "screen + SMS"
    assert int(sent["budget"]) in (70, 80) and int(sent["characters left"]) >= 0  # its tightest screen or SMS
    assert {row["reviewed"] for row in sheet("sat_olck")} == {"no"}  # a draft: every text awaits a native speaker


@pytest.mark.parametrize("lang", ["hi", "bn", "sat_olck"])
def test_a_sheet_round_trips(lang, tmp_path):
    text = to_csv(export_rows(CATALOG, lang, VALUES, KEYS))
    imported = read_csv(text, lang, CATALOG, VALUES, KEYS, where=f"{lang}.csv")
    own = {key: value for key, value in CATALOG.languages[lang].texts.items()}
    assert imported.problems == [] or all("sms.missed_call" in p for p in imported.problems)  # issue 19's text
    assert imported.language.texts == {k: v for k, v in own.items() if k in imported.language.texts}
    (tmp_path / f"{lang}.yaml").write_text(dump_language(imported.language, list(CATALOG.languages["en"].texts)),
                                           encoding="utf-8")
    again = load_catalog(overlay=tmp_path)
    assert again.languages[lang].texts == CATALOG.languages[lang].texts
    assert again.reviewed(lang, "home.title") == CATALOG.reviewed(lang, "home.title")


def _edited(lang: str, changes: dict[str, str], reviewed: str | None = None) -> str:
    rows = [row for row in sheet(lang) if row["key"] in changes]
    for row in rows:
        row["text"] = changes[row["key"]]
        if reviewed is not None:
            row["reviewed"] = reviewed
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sent": "शिकायत भेज दी"}, "line 2: key 'sent' must keep the placeholders ['ref'], not none"),
        ({"check.status": "{ref}: {state}"}, "line 2: key 'check.status' must keep the placeholders"),
        ({"home.title": "  "}, "line 2: key 'home.title': the text is blank"),
        ({"sms.reminder": "दोबारा सूचना: {concern}, {village}। अब तक किसी ने जिम्मेदारी नहीं ली। ACK {ref} भेजें।"},
         "line 2: key 'sms.reminder' is 38 characters over its budget of 70"),
        ({"home.title": "बच्चों की सुरक्षा के लिए सरकारी सेवा"}, "line 2: key 'home.title' is"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line(changes, message):
    imported = read_csv(_edited("hi", changes), "hi", CATALOG, VALUES, KEYS, where="hi.csv")
    assert any(problem.startswith(f"hi.csv {message}") for problem in imported.problems), imported.problems


def test_unknown_and_repeated_keys_are_named():
    text = "key,text,reviewed\nhome.titel,x,yes\nhome.title,बाल सुरक्षा,yes\nhome.title,बाल सुरक्षा,yes\n"
    problems = read_csv(text, "hi", CATALOG, VALUES, KEYS, where="hi.csv").problems
    assert problems == ["hi.csv line 2: unknown key 'home.titel' (not in en.yaml)",
                        "hi.csv line 4: key 'home.title' again (first on line 3)"]


def test_reviewed_marks_come_back():
    imported = read_csv(_edited("sat_olck", {"home.title": "ᱜᱤᱫᱨᱟ ᱵᱟᱧᱪᱟᱣ"}, reviewed="yes"), "sat_olck", CATALOG,
                        VALUES, KEYS)
    assert imported.problems == [] and imported.language.unreviewed == frozenset()
    merged = Catalog([*CATALOG.languages.values()][:0] + [lang for code, lang in CATALOG.languages.items()
                                                            if code != "sat_olck"]
                     + [imported.language.over(CATALOG.languages["sat_olck"])])
    assert merged.reviewed("sat_olck", "home.title") and not merged.reviewed("sat_olck", "home.report")


def test_a_new_language_starts_empty():
    rows = sheet("mr")
    assert {row["text"] for row in rows} == {""} and {row["reviewed"] for row in rows} == {"no"}
    assert isinstance(CATALOG.languages["en"], Language)
