"""Posters from the directory: the CLI and the console's download, within the staff member's scope."""

from __future__ import annotations

import pypdfium2 as pdfium

from gateway.channels.poster_places import block_places, state_language

KANKE, JHALDA = 90011, 91011


def pages(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    return [document[index].get_textpage().get_text_range() for index in range(len(document))]


def test_a_blocks_panchayats_and_its_villages_without_one(demo):
    block, state = block_places(demo, KANKE, "hi")
    assert (state, state_language(state), block.district) == (20, "hi", "Ranchi")
    assert [page.name for page in block.panchayats] == ["Barhi", "Kanke", "Pipra"]  # Kanke: Tilaiya, under the block
    pipra = next(page for page in block.panchayats if page.name == "Pipra")
    assert [(v.code, v.local_name) for v in pipra.villages][:1] == [(9001111, "आमतोला")]
    assert block_places(demo, KANKE, "en")[0].panchayats[0].villages[0].local_name is None


def test_santali_in_bengali_script_reads_the_bengali_names_as_its_menu_does(demo):
    def names(lang: str) -> list[str | None]:
        block = block_places(demo, JHALDA, lang)[0]
        return [block.local_name] + [v.local_name for page in block.panchayats for v in page.villages]

    bengali = names("bn")
    assert bengali[0] and all(bengali) and names("sat_beng") == bengali
    assert not any(names("sat_olck")[1:])  # no Ol Chiki names in the demo: the English ones are printed


def test_cpgw_posters_writes_a_page_per_panchayat(cli, demo, tmp_path):
    out = tmp_path / "kanke.pdf"
    result = cli("posters", "--block", str(KANKE), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "3 pages" in result.output and "hi" in result.output
    text = pages(out.read_bytes())
    assert len(text) == 3 and "9001111" in "".join(text) and "*384*1098#" in text[0]
    assert cli("posters", "--block", "999", "--out", str(out)).exit_code == 1
    assert cli("posters", "--block", str(KANKE), "--lang", "xx", "--out", str(out)).exit_code == 2


def test_the_console_offers_posters_of_its_own_district_only(browser):
    ranchi = browser("ranchi")
    assert f"/console/directory/posters/{KANKE}.pdf" in ranchi.get("/console/directory").text
    pdf = ranchi.get(f"/console/directory/posters/{KANKE}.pdf?lang=en")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"] and len(pages(pdf.content)) == 3
    assert ranchi.get(f"/console/directory/posters/{JHALDA}.pdf").status_code == 404  # Purulia's block
    assert ranchi.get(f"/console/directory/posters/{KANKE}.pdf?lang=xx").status_code == 400
    assert browser(None).get(f"/console/directory/posters/{KANKE}.pdf", follow_redirects=False).status_code in (302, 303)


def test_the_word_each_poster_says_to_send_starts_a_conversation_in_its_language():
    """The SMS line names a keyword; a villager who sends it must get the menu, not silence."""
    from menus.keywords import intent, words
    from menus.posters import load_poster_texts

    for lang, texts in load_poster_texts().items():
        said = [intent(word) for word in words(texts["sms"].format(sms_number="56789"))]
        assert ("help", "en" if lang == "en" else lang) in said, (lang, texts["sms"])
