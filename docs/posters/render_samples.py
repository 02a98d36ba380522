"""Render the sample posters shown in the docs: page 1 of a sample block in every poster language,
as docs/posters/<lang>.png (about 100 dpi). Run after changing posters.yaml or the layout, and look:

    .venv/bin/python docs/posters/render_samples.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pypdfium2

from gateway.channels.posters import (
    POSTER_LANGUAGES,
    PosterBlock,
    PosterPanchayat,
    PosterVillage,
    render_posters,
)

HERE = Path(__file__).parent
DPI = 100
# A block in West Bengal for the posters in Bengali letters (Bengali, Santali in Bengali script),
# one in Jharkhand for the others: the local names are in the state's script, as the directory
# holds them; the Ol Chiki poster's are in Ol Chiki (LGD's local names in that script).
VILLAGES_JH = (("Lakshmipur", "लक्ष्मीपुर"), ("Shivpur", "शिवपुर"), ("Kshetra Tola", "क्षेत्र टोला"),
               ("Bachchhidih", "बच्छीडीह"), ("Chitrakoot", "चित्रकूट"), ("Pipra Kalan", "पिपरा कलाँ"),
               ("Hariharpur", "हरिहरपुर"), ("Dumri", "डुमरी"))
VILLAGES_WB = (("Lakshmipur", "লক্ষ্মীপুর"), ("Shibpur", "শিবপুর"), ("Kshetrapal", "ক্ষেত্রপাল"),
               ("Shishugram", "শিশুগ্রাম"), ("Chitra", "চিত্রা"), ("Kirtipur", "কীর্তিপুর"),
               ("Purbasthali", "পূর্বস্থলী"), ("Dumdum", "দমদম"))
VILLAGES_OLCK = (("Lakshmipur", "ᱞᱚᱠᱷᱤᱯᱩᱨ"), ("Shivpur", "ᱥᱤᱵᱽᱯᱩᱨ"), ("Dumka", "ᱫᱩᱢᱠᱟ"), ("Jamtara", "ᱡᱟᱢᱛᱟᱲᱟ"),
                 ("Matiyari", "ᱢᱟᱴᱤᱭᱟᱨᱤ"), ("Hariharpur", "ᱦᱟᱨᱤᱦᱚᱨᱯᱩᱨ"), ("Dumri", "ᱰᱩᱢᱨᱤ"), ("Pipra", "ᱯᱤᱯᱨᱟ"))


def sample_block(lang: str) -> PosterBlock:
    bengal = lang in ("bn", "sat_beng")
    names = VILLAGES_WB if bengal else VILLAGES_OLCK if lang == "sat_olck" else VILLAGES_JH
    villages = tuple(PosterVillage(code=370101 + i, name=name, local_name=local) for i, (name, local) in enumerate(names))
    panchayat = PosterPanchayat(code=91234, name="Lakshmipur" if not bengal else "Shibpur",
                                local_name=names[0][1] if not bengal else names[1][1], villages=villages)
    if bengal:
        return PosterBlock(code=2345, name="Purulia II", local_name="পুরুলিয়া ২", district="Purulia",
                           district_local="পুরুলিয়া", panchayats=(panchayat,))
    if lang == "sat_olck":
        return PosterBlock(code=2601, name="Kanke", local_name="ᱠᱟᱸᱠᱮ", district="Ranchi", district_local="ᱨᱟᱧᱪᱤ",
                           panchayats=(panchayat,))
    return PosterBlock(code=2601, name="Kanke", local_name="कांके", district="Ranchi", district_local="राँची",
                       panchayats=(panchayat,))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for lang in POSTER_LANGUAGES:
            pdf_path = Path(tmp) / f"{lang}.pdf"
            render_posters(sample_block(lang), lang, pdf_path, ussd_code="*384*777#", sms_number="9223166166")
            document = pypdfium2.PdfDocument(pdf_path)
            image = document[0].render(scale=DPI / 72, grayscale=True).to_pil()
            image.save(HERE / f"{lang}.png", optimize=True)
            document.close()
            print(f"{lang}: {pdf_path.stat().st_size} bytes of PDF -> {HERE / f'{lang}.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
