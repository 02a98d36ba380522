"""The commands of shared/CONTRACT.md, run as a deployer would."""

from __future__ import annotations

from gateway.web.auth import principal_for


def test_db_upgrade_and_demo_only_when_empty(cli):
    assert cli("db", "upgrade").exit_code == 0
    first = cli("directory", "demo", "--if-empty")
    assert first.exit_code == 0 and "Demo directory loaded" in first.output
    again = cli("directory", "demo", "--if-empty")
    assert again.exit_code == 0 and "not loaded" in again.output


def test_token_create_prints_the_token_alone_on_the_last_line(cli, engine):
    result = cli("token", "create", "--role", "district", "--district", "9001", "--name", "DCPU Ranchi")
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    who = principal_for(engine, token)
    assert who is not None and (who.role, who.district_lgd, who.name) == ("district", 9001, "DCPU Ranchi")
    assert cli("token", "create", "--role", "district").exit_code == 2


def test_directory_import_reports_the_bad_line(cli, tmp_path):
    (tmp_path / "p.csv").write_text("lgd_code,level,name,parent_lgd_code\n20,state,Jharkhand,\n21,planet,X,\n")
    (tmp_path / "c.csv").write_text("name,phone,unit,place_lgd_code,role,language,active\n")
    result = cli("directory", "import", str(tmp_path / "p.csv"), str(tmp_path / "c.csv"))
    assert result.exit_code == 1 and "p.csv line 3" in result.output and "Nothing imported" in result.output


def test_routing_explain_prints_names_deadlines_and_no_numbers(cli, demo):
    result = cli("routing", "explain", "--village", "9001111", "--concern", "sexual_abuse", "--urgent")
    assert result.exit_code == 0, result.output
    assert "SJPU" in result.output and "15m" in result.output and "DEMO DCPO Ranchi" in result.output
    assert "+91" not in result.output
    routine = cli("routing", "explain", "--village", "9001199", "--concern", "neglect_dropout")
    assert "gap: no active VCPC" in routine.output and "step 1: Block" in routine.output
    assert cli("routing", "explain", "--village", "9001111", "--concern", "nope").exit_code == 2
    assert cli("routing", "explain", "--village", "1", "--concern", "other").exit_code == 1


def test_routing_gaps_lists_villages_without_a_committee(cli, demo):
    result = cli("routing", "gaps", "--district", "9001")
    assert result.exit_code == 0
    assert "9001199 Tilaiya: no active VCPC" in result.output and "5 of 17 villages and wards" in result.output
    assert "90090101 Ward 1 Hindpiri (ward): no active BCPC" in result.output  # a town has no block committee


def test_reconcile_reports_what_it_rebuilt(cli, demo):
    result = cli("reconcile")
    assert result.exit_code == 0 and "rescheduled 0 deadlines" in result.output


def test_doctor_lists_the_unsafe_settings_still_on(cli, monkeypatch, settings):
    development = cli("doctor")
    assert development.exit_code == 0
    assert "CPGW_WEBHOOK_TOKEN is unset" in development.output and "console" in development.output
    monkeypatch.setenv("CPGW_ENV", "production")
    assert cli("doctor").exit_code == 2  # production's hard refusals: no token, no secret, no transport
    for name, value in {"CPGW_SECRET_KEY": "d" * 40, "CPGW_WEBHOOK_TOKEN": "w" * 40, "AT_USERNAME": "cpgw",
                        "AT_API_KEY": "k", "CPGW_TRUSTED_PROXIES": "*"}.items():
        monkeypatch.setenv(name, value)
    production = cli("doctor")
    assert production.exit_code == 1 and "CPGW_TRUSTED_PROXIES is '*'" in production.output
    assert ("SQL is SQLite" in production.output) == settings.resolved_database_url.startswith("sqlite")
    assert "CPGW_WEBHOOK_TOKEN" not in production.output


def test_routing_explain_gives_the_lawful_ladder_of_every_concern_by_day_and_by_night(cli, demo):
    from routing.concerns import KEYS

    for concern in KEYS:
        for urgent in ([], ["--urgent"]):
            day = cli("routing", "explain", "--village", "9001111", "--concern", concern, *urgent,
                      "--at", "2026-12-23 11:00")  # a Wednesday morning
            assert day.exit_code == 0 and "why: " in day.output and "OFF DUTY" not in day.output, day.output
            assert "DCPO" in day.output and ("DM" in day.output or "SCPS" in day.output)
    night = cli("routing", "explain", "--village", "9001111", "--concern", "neglect_dropout", "--urgent",
                "--at", "2026-12-25 23:10")  # Christmas night in Jharkhand
    assert "OFF DUTY at Fri 25 Dec 23:10: if alerted then, its deadline runs out Sat 26 Dec 10:00" in night.output
    assert "night cover alerted at once: " in night.output and "CHILDLINE" in night.output
    holiday = cli("routing", "explain", "--village", "9001111", "--concern", "other", "--at", "2026-12-25 11:00")
    assert "OFF DUTY" in holiday.output and "night cover" not in holiday.output  # not urgent: it waits
    assert "not urgent: waits for the office to open (Sat 26 Dec 10:00); the reporter is told so" in holiday.output
    # A deadline that outlasts the closed hours runs out in calendar time, not at the opening.
    early = cli("routing", "explain", "--village", "9001111", "--concern", "physical_violence", "--at", "2026-12-22 08:00")
    assert "OFF DUTY at Tue 22 Dec 08:00: if alerted then, its deadline runs out Tue 22 Dec 12:00" in early.output  # 4h
    assert cli("routing", "explain", "--village", "9001111", "--concern", "other", "--at", "tonight").exit_code == 2
