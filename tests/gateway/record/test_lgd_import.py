"""`cpgw directory import-lgd` as a deployer runs it: a state's downloads in one command, a report of
what was added, changed and refused, the same report empty on a re-import, nothing half-imported."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from gateway.devtools.lgd_files import data_rows, write_lgd_state


def table(output: str) -> dict[str, dict[str, int]]:
    """The report's table: level → {"in files", "added", "changed", "refused"}."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.split()[:1] == ["level"])
    rows = {}
    for line in lines[start + 1:]:
        cells = line.split()
        if len(cells) != 5 or not cells[1].isdigit():
            break
        rows[cells[0]] = dict(zip(("in files", "added", "changed", "refused"), map(int, cells[1:]), strict=True))
    return rows


def places_in(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT COUNT(*) FROM place")).scalar_one()


def test_a_state_imports_in_one_command_and_again_unchanged(cli, engine, tmp_path: Path) -> None:
    files = write_lgd_state(tmp_path / "lgd", districts=2, blocks_per_district=2, panchayats_per_block=3,
                            villages_per_panchayat=4)
    paths = [str(path) for path in files.values()]
    notes = tmp_path / "notes.txt"

    first = cli("directory", "import-lgd", *paths, "--notes", str(notes))
    assert first.exit_code == 0, first.output
    report = table(first.output)
    assert report["village"]["added"] == report["village"]["in files"] > 40
    assert report["village"]["refused"] == 1  # the generated orphan village, named in a note
    assert all(row["changed"] == 0 for row in report.values())
    total = sum(row["in files"] for row in report.values())
    assert f"Imported {total} places ({total} added, 0 changed)." in first.output
    assert places_in(engine) == total
    written = notes.read_text(encoding="utf-8").splitlines()
    assert any(note.startswith("villages.csv line ") and note.endswith("; skipped") for note in written)
    assert all(f"note: {note}" in first.output for note in written)  # fewer than the 20 shown

    again = cli("directory", "import-lgd", *paths)
    assert again.exit_code == 0, again.output
    assert f"Imported {total} places (0 added, 0 changed)." in again.output

    # LGD renames a village: the next download's import says so, and stores the new name.
    village = next(data_rows(files["villages"]))
    code, name = village["Village Code"], village["Village Name (In Englsih)"]
    text = files["villages"].read_text(encoding="utf-8-sig").replace(f'"{code}","1","{name}"',
                                                                      f'"{code}","2","NEW {name}"', 1)
    assert f'"NEW {name}"' in text
    files["villages"].write_text(text, encoding="utf-8-sig")
    renamed = cli("directory", "import-lgd", *paths)
    assert renamed.exit_code == 0, renamed.output
    assert table(renamed.output)["village"]["changed"] == 1
    assert f"Imported {total} places (0 added, 1 changed)." in renamed.output
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT name FROM place WHERE level = 'village' AND lgd_code = :code"),
                                    {"code": int(code)}).scalar_one()
    assert stored == f"New {name.title()}"


def test_a_file_of_no_known_kind_imports_nothing(cli, engine, tmp_path: Path) -> None:
    files = write_lgd_state(tmp_path / "lgd", districts=1, blocks_per_district=1, panchayats_per_block=1,
                            villages_per_panchayat=2, quirks=False)
    stray = tmp_path / "budget.csv"
    stray.write_text("Scheme,Amount\nICPS,100\n", encoding="utf-8")
    result = cli("directory", "import-lgd", *map(str, files.values()), str(stray))
    assert result.exit_code == 1
    assert "Nothing imported" in result.output and "budget.csv: not an LGD download we know" in result.output
    assert places_in(engine) == 0
