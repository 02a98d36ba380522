from __future__ import annotations

import pytest

from menus.catalog import CatalogError
from menus.dlt import load_dlt


def test_shipped_file_lists_every_responder_template(catalog):
    ids = load_dlt()
    assert {"sms.alert", "sms.alert_urgent", "sms.reminder", "sms.follow_up"} <= set(ids)
    assert all(key in catalog.languages["en"].texts for key in ids)


@pytest.mark.parametrize(
    ("text", "message"),
    [("templates:\n  sms.alert: 12ab\n", "a DLT id is digits only"),
     ("templates:\n  sms.nope: '1'\n", "unknown template 'sms.nope'"),
     ("nothing: here\n", "must hold a 'templates' mapping")],
)
def test_bad_files_are_refused(tmp_path, text, message):
    path = tmp_path / "dlt.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message):
        load_dlt(path, known=frozenset({"sms.alert"}))


def test_registered_ids_are_read(tmp_path):
    path = tmp_path / "dlt.yaml"
    path.write_text("templates:\n  sms.alert: 1107160000000012345\n")
    assert load_dlt(path) == {"sms.alert": "1107160000000012345"}
