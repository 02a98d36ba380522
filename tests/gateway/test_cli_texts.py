"""`cpgw texts export --lang hi > hi.csv` and `cpgw texts import hi.csv` (issue 18): a translator's
sheet round-trips, a wrong row is named by its line and nothing is written, and what is written
lands in the texts directory (CPGW_TEXTS_DIR), where the gateway reads it at start."""

from __future__ import annotations

import csv
import io

from gateway.services import menu_catalog


def _rows(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output)))


def _write(path, rows: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_export_edit_import_reaches_the_gateway(cli, settings, demo, tmp_path):
    exported = cli("texts", "export", "--lang", "hi")
    assert exported.exit_code == 0, exported.output
    rows = _rows(exported.stdout)
    assert list(rows[0]) == ["key", "English", "text", "screen or SMS", "budget", "characters left", "reviewed"]
    home = next(row for row in rows if row["key"] == "home.report")
    assert home["text"] == "बच्चे की खबर दें" and home["screen or SMS"] == "screen" and home["budget"] == "80"
    # a translator rewords one text, marks it unreviewed and sends the sheet back (only the rows they touched)
    home["text"], home["reviewed"] = "बच्चे की खबर", "no"
    sheet = tmp_path / "hi.csv"
    _write(sheet, [home])
    imported = cli("texts", "import", str(sheet))
    assert imported.exit_code == 0, imported.output
    written = settings.data_dir / "texts" / "hi.yaml"
    assert written.exists() and "1 texts in 'hi'" in imported.output
    catalog = menu_catalog(settings)
    assert catalog.text("hi", "home.report") == "बच्चे की खबर"
    assert catalog.text("hi", "home.check") == "शिकायत का हाल"  # the other keys stay as shipped
    assert not catalog.reviewed("hi", "home.report") and catalog.reviewed("hi", "home.check")
    again = _rows(cli("texts", "export", "--lang", "hi").stdout)
    assert next(row for row in again if row["key"] == "home.report")["reviewed"] == "no"


def test_a_wrong_row_is_named_and_nothing_is_written(cli, settings, demo, tmp_path):
    rows = _rows(cli("texts", "export", "--lang", "bn").stdout)
    sent = next(row for row in rows if row["key"] == "sent")
    sent["text"] = "অভিযোগ নম্বর লিখে রাখুন"  # the reference is gone
    sheet = tmp_path / "bn.csv"
    _write(sheet, [sent])
    result = cli("texts", "import", str(sheet))
    assert result.exit_code == 1
    assert "bn.csv line 2: key 'sent' must keep the placeholders ['ref'], not none" in result.output
    assert not (settings.data_dir / "texts" / "bn.yaml").exists()


def test_santali_in_ol_chiki_exports_as_a_draft(cli, demo):
    rows = _rows(cli("texts", "export", "--lang", "sat_olck").stdout)
    assert {row["reviewed"] for row in rows} == {"no"}
    assert next(row for row in rows if row["key"] == "home.title")["text"] == "ᱜᱤᱫᱨᱟ ᱵᱟᱧᱪᱟᱣ"
