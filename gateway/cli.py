"""`cpgw`: the commands in shared/CONTRACT.md."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gateway.infra.settings import Settings, load_settings
from gateway.record import db

app = typer.Typer(help="Child-protection referral gateway", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="SQL schema", no_args_is_help=True)
directory_app = typer.Typer(help="Places and contacts", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens", no_args_is_help=True)
user_app = typer.Typer(help="Console logins", no_args_is_help=True)
texts_app = typer.Typer(help="Menu texts: the translators' CSV out and back", no_args_is_help=True)
app.add_typer(texts_app, name="texts")
app.add_typer(db_app, name="db")
app.add_typer(directory_app, name="directory")
routing_app = typer.Typer(help="Who hears about a report", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(routing_app, name="routing")
app.add_typer(user_app, name="user")


def _settings() -> Settings:
    try:
        return load_settings()
    except ValueError as exc:
        typer.echo(f"Settings error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    return engine


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    no_worker: bool = typer.Option(False, "--no-worker", help="web only; run `cpgw worker` separately"),
    log_format: Optional[str] = typer.Option(None, help="text, json or auto (CPGW_LOG_FORMAT)"),  # noqa: UP007
) -> None:
    """Serve the web app (webhooks, API, console) and, unless --no-worker, the background work."""
    from gateway.infra.children import share_metrics

    settings = _settings()
    shared_metrics = share_metrics()  # before prometheus_client is imported: /metrics counts every process

    import uvicorn

    from gateway.infra import logs
    from gateway.web.app import create_app

    logs.configure(settings.log_level, log_format or settings.log_format)
    application = create_app(settings)
    application.state.run_worker = not no_worker
    application.state.effects_process = True  # a hop's SQL work off this process's GIL (channels.effects)
    application.state.freeze_gc = True
    application.state.shared_metrics = shared_metrics  # removed on shutdown (uvicorn then re-raises the signal)
    # X-Forwarded-Proto/-For are believed only from CPGW_TRUSTED_PROXIES (the TLS proxy in front).
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips)


@app.command()
def worker(
    log_format: Optional[str] = typer.Option(None, help="text, json or auto (CPGW_LOG_FORMAT)"),  # noqa: UP007
    nice: int = typer.Option(0, min=0, max=19, help="lower this process's CPU priority by this much"),
    idle: bool = typer.Option(False, "--idle", help="run only on CPU time nothing else wants (SCHED_IDLE)"),
    parent: Optional[int] = typer.Option(None, help="stop once this process is gone (`cpgw serve`)"),  # noqa: UP007
) -> None:
    """The background work alone (outbox, escalation sweeper, audit); run as many as you like."""
    import os
    import signal
    import threading

    from gateway.infra import logs
    from gateway.infra.children import on_parent_gone
    from gateway.infra.heap import freeze_start_up_objects
    from gateway.referrals.worker import Worker
    from gateway.services import open_services

    if nice:
        os.nice(nice)
    if idle and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    elif idle:  # not Linux: the lowest priority there is
        os.nice(19)
    settings = _settings()
    logs.configure(settings.log_level, log_format or settings.log_format)
    services = open_services(settings)
    freeze_start_up_objects()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if parent is not None:
        on_parent_gone(parent, stop.set)
    try:
        Worker(services).run(stop)
    finally:
        services.close()


@app.command(hidden=True)
def effects(
    socket: Path = typer.Option(..., help="the Unix socket to answer on (made by `cpgw serve`)"),
    parent: Optional[int] = typer.Option(None, help="stop once this process is gone (`cpgw serve`)"),  # noqa: UP007
) -> None:
    """`cpgw serve`'s effects process: stores and looks up the reports of USSD hops it is sent."""
    import asyncio

    from gateway.channels import effects as effects_process
    from gateway.infra import logs
    from gateway.infra.heap import freeze_start_up_objects
    from gateway.services import open_services

    settings = _settings()
    logs.configure(settings.log_level, settings.log_format)

    async def run() -> None:
        # No WAL checkpoint inside a report's commit, nor a Checkpointer of its own: the web process's does it.
        services = open_services(settings, migrate=False, background_checkpoints=True, checkpointer=False)
        freeze_start_up_objects()
        try:
            await effects_process.serve(services.ussd, socket, effects_process.stop_on_signals(), parent=parent)
        finally:
            await services.aclose()

    asyncio.run(run())


@app.command()
def reconcile() -> None:
    """Rebuild Redis's live state (pending deadlines, outbox) from SQL, idempotently."""
    from gateway.referrals.worker import Worker
    from gateway.services import open_services

    services = open_services(_settings())
    try:
        report = Worker(services, name="reconcile").audit()
    finally:
        services.close()
    typer.echo(
        f"Routed {report['routed']} unrouted cases, rescheduled {report['deadlines']} deadlines "
        f"and {report['duties']} duties, requeued {report['messages']} messages, took over {report['taken_over']} abandoned sends."
    )


@app.command()
def doctor() -> None:
    """List every unsafe setting still on, and data files others can read; exit 1 in production if any."""
    from gateway.infra.files import PRIVATE_UMASK
    from gateway.infra.settings import unsafe_settings

    settings = _settings()  # production's hard refusals (no webhook token, no transport…) stop here
    found = unsafe_settings(settings)
    if settings.data_dir.exists():
        found += [f"{path} can be read by other accounts on this machine (chmod 600)"
                  for path in sorted(settings.data_dir.iterdir()) if path.is_file() and path.stat().st_mode & PRIVATE_UMASK]
    for finding in found:
        typer.echo(f"- {finding}")
    production = settings.environment == "production"
    typer.echo(f"{len(found)} unsafe setting(s) found" if found else "Nothing unsafe found.")
    if found and production:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the SQL schema."""
    settings = _settings()
    _engine(settings)
    typer.echo(f"Database ready: {db.make_engine(settings.resolved_database_url).url.render_as_string()}")


@directory_app.command("import")
def directory_import(places_csv: Path, contacts_csv: Path) -> None:
    """Upsert places and contacts from CSV; a bad row aborts the import with its line number."""
    from gateway.record.directory import DirectoryError, import_directory

    settings = _settings()
    engine = _engine(settings)
    try:
        rules = _rules(settings)
        summary = import_directory(engine, places_csv, contacts_csv, rules.units.keys(), levels=rules.levels)
    except DirectoryError as exc:
        typer.echo(f"Nothing imported:\n{exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Imported {summary.places} places and {summary.contacts} contacts.")


@directory_app.command("import-lgd")
def directory_import_lgd(
    files: list[Path] = typer.Argument(..., help="LGD 'Download Directory' files (CSV), any order"),  # noqa: B008
    notes: Optional[Path] = typer.Option(None, help="write every note (refused rows, choices made) here"),  # noqa: UP007
) -> None:
    """Import the Local Government Directory's own downloads: each file's kind is read from its header."""
    from gateway.record.directory import DirectoryError
    from gateway.record.lgd import LgdError
    from gateway.record.lgd_import import import_lgd

    engine = _engine(_settings())
    try:
        result = import_lgd(engine, files)
    except (LgdError, DirectoryError) as exc:
        typer.echo(f"Nothing imported:\n{exc}", err=True)
        raise typer.Exit(1) from exc
    conversion = result.conversion
    for name, kind in conversion.files.items():
        typer.echo(f"{name}: {kind}, {conversion.read.get(kind, 0)} rows")
    rows = [("level", "in files", "added", "changed", "refused")] + [
        (level, str(count), str(result.added[level]), str(result.changed[level]), str(conversion.refused.get(level, 0)))
        for level, count in conversion.written.items()]
    _table(rows)
    shown = conversion.notes[:MAX_NOTES]
    for note in shown:
        typer.echo(f"note: {note}")
    if notes is not None:
        notes.write_text("".join(f"{note}\n" for note in conversion.notes), encoding="utf-8")
    more = len(conversion.notes) - len(shown)
    if more:
        typer.echo(f"… and {more} more notes" + (f" (all in {notes})" if notes else " (--notes FILE keeps them all)"))
    typer.echo(f"Imported {result.summary.places} places "
               f"({sum(result.added.values())} added, {sum(result.changed.values())} changed).")


@directory_app.command("import-coverage")
def directory_import_coverage(coverage_csv: Path) -> None:
    """Which villages, panchayats or blocks each police station (any jurisdiction the rules declare)
    covers (place_level,place_code,covers_level,covers_lgd_code)."""
    from gateway.record.coverage import import_coverage
    from gateway.record.directory import DirectoryError

    settings = _settings()
    engine = _engine(settings)
    try:
        summary = import_coverage(engine, coverage_csv, levels=_rules(settings).levels)
    except DirectoryError as exc:
        typer.echo(f"Nothing imported:\n{exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Coverage of {summary.jurisdictions} jurisdictions imported ({summary.rows} places covered).")


@directory_app.command("demo")
def directory_demo(
    if_empty: bool = typer.Option(False, "--if-empty", help="only when the directory has no places yet"),
) -> None:
    """Load the demo directory (districts of Jharkhand, West Bengal, Rajasthan; fictional contacts)."""
    from gateway.record.directory import import_demo, is_empty

    settings = _settings()
    engine = _engine(settings)
    if if_empty and not is_empty(engine):
        typer.echo("Directory already has places; demo not loaded.")
        return
    rules = _rules(settings)
    summary = import_demo(engine, rules.units.keys(), levels=rules.levels)
    typer.echo(f"Demo directory loaded: {summary.places} places, {summary.contacts} contacts (all fictional).")


MAX_NOTES = 20


@app.command()
def posters(
    block: int = typer.Option(..., help="block LGD code"),
    lang: Optional[str] = typer.Option(None, help="the posters' language (default: the state's)"),  # noqa: UP007
    out: Path = typer.Option(..., help="the PDF to write"),
) -> None:
    """Printable posters for a block: a page per gram panchayat with its villages' codes and how to report."""
    from gateway.channels.poster_places import NoSuchBlock, block_places, state_language
    from gateway.channels.posters import POSTER_LANGUAGES, PosterError, render_posters

    settings = _settings()
    engine = _engine(settings)
    try:
        if lang is None:
            lang = state_language(block_places(engine, block, "en")[1])
        if lang not in POSTER_LANGUAGES:
            typer.echo(f"No poster texts in {lang!r}; one of: {', '.join(POSTER_LANGUAGES)}", err=True)
            raise typer.Exit(2)
        places, _ = block_places(engine, block, lang)
        pages = render_posters(places, lang, out, ussd_code=settings.ussd_code, sms_number=settings.sms_number)
    except (NoSuchBlock, PosterError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{pages} pages written to {out} ({len(places.panchayats)} gram panchayats, {lang}).")


def _when(at) -> str:  # type: ignore[no-untyped-def]
    """A stored time for an operator's eyes: UTC to the minute, or "-" when there is none."""
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def _table(rows: list[tuple[str, ...]]) -> None:
    """Rows as aligned columns, the first row a header: one line per row, easy to grep."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@token_app.command("create")
def token_create(
    role: str = typer.Option(..., help="admin, district or viewer"),
    district: Optional[int] = typer.Option(None, help="district LGD code (role district)"),  # noqa: UP007
    name: str = typer.Option("", help="who or what uses the token"),
    expires_in: int = typer.Option(90, "--expires-in", min=0, metavar="DAYS",
                                   help="days until the token stops working; 0: never (not advised)"),
) -> None:
    """Print a new API bearer token, alone on the last line."""
    from datetime import timedelta

    from gateway.web.auth import TokenError, issue_token

    engine = _engine(_settings())
    lifetime = timedelta(days=expires_in) if expires_in else None
    try:
        info, token = issue_token(engine, role=role, district_lgd=district, name=name, lifetime=lifetime)
    except TokenError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if info.expires_at is None:
        typer.echo(f"Warning: token {info.id} never expires; revoke it with `cpgw token revoke {info.id}` "
                   "when it is no longer needed.", err=True)
    expiry = f"expires {_when(info.expires_at)} UTC" if info.expires_at else "never expires"
    typer.echo(f"Token {info.id} for {role}{f' (district {district})' if district else ''}, {expiry}; "
               "it is shown only once:")
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """One line per token (times in UTC); never the token itself nor its hash."""
    from gateway.record.models import utcnow
    from gateway.web.auth import list_tokens

    now = utcnow()
    rows = [("ID", "NAME", "ROLE", "DISTRICT", "CREATED", "EXPIRES", "LAST USED", "STATE")]
    for t in list_tokens(_engine(_settings())):
        state = "revoked" if t.revoked else "expired" if t.expired(now) else "active"
        rows.append((str(t.id), t.name or "-", t.role, str(t.district_lgd or "-"), _when(t.created_at),
                     _when(t.expires_at) if t.expires_at else "never", _when(t.last_used_at), state))
    _table(rows)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., metavar="ID", help="the token's id, from `cpgw token list`")) -> None:
    """Stop a token working, at once and for good."""
    from gateway.web.auth import revoke_token

    info = revoke_token(_engine(_settings()), token_id)
    if info is None:
        typer.echo(f"No token with id {token_id}; see `cpgw token list`.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Token {info.id} ({info.name or 'no name'}, {info.role}) revoked.")


@user_app.command("create")
def user_create(
    username: str = typer.Argument(..., help="the login name"),
    role: str = typer.Option(..., help="admin, district or viewer"),
    district: Optional[int] = typer.Option(None, help="district LGD code (role district)"),  # noqa: UP007
    name: str = typer.Option("", help="the person's name, shown in the audit trail"),
    phone: Optional[str] = typer.Option(None, help="their mobile: SMS reminders of the cases assigned to them"),  # noqa: UP007
) -> None:
    """Create a console login; the password comes from CPGW_NEW_PASSWORD, else it is asked twice."""
    import os

    from gateway.web.console.users import UserError, create_user

    password = os.environ.get("CPGW_NEW_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    engine = _engine(_settings())
    try:
        member = create_user(engine, username=username, password=password, role=role, district_lgd=district, name=name,
                             phone=phone)
    except UserError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    scope = f" for district {member.district_lgd}" if member.district_lgd else ""
    typer.echo(f"Console user {member.username!r} created ({member.role}{scope}). Sign in at /console/login.")


@user_app.command("list")
def user_list() -> None:
    """One line per console login (last login in UTC); never a password hash."""
    from sqlmodel import col, select

    from gateway.record.models import User
    from gateway.web.console.reading import read_only

    rows = [("USERNAME", "NAME", "ROLE", "DISTRICT", "PHONE", "ACTIVE", "LAST LOGIN")]
    with read_only(_engine(_settings())) as session:
        rows += [(u.username, u.name or "-", u.role, str(u.district_lgd or "-"), u.phone or "-",
                  "yes" if u.active else "no", _when(u.last_login_at))
                 for u in session.exec(select(User).order_by(col(User.username)))]
    _table(rows)


@user_app.command("phone")
def user_phone(
    username: str = typer.Argument(..., help="the login name"),
    phone: str = typer.Argument("", help="their mobile (+91…); empty: no SMS reminders"),
) -> None:
    """Set the mobile a worker gets SMS reminders on, for the overdue duties of cases assigned to them."""
    from gateway.web.console.users import UserError, set_phone

    try:
        member = set_phone(_engine(_settings()), username, phone)
    except UserError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if member is None:
        typer.echo(f"No console user {username!r}; see `cpgw user list`.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Console user {username.strip().lower()!r}: " + (f"reminders to {phone}." if phone else "no reminders."))


@user_app.command("deactivate")
def user_deactivate(username: str = typer.Argument(..., help="the login name")) -> None:
    """Stop a console login: it can no longer sign in, and its open sessions end at once."""
    from gateway.web.console.users import deactivate_user

    member = deactivate_user(_engine(_settings()), username)
    if member is None:
        typer.echo(f"No console user {username!r}; see `cpgw user list`.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Console user {member.username!r} deactivated; their sessions have ended.")


def _rules(settings: Settings):  # type: ignore[no-untyped-def]
    from routing.rules import RulesError, load_rules

    try:
        return load_rules(settings.routing_rules)
    except RulesError as exc:
        typer.echo(f"Routing rules refused:\n{exc}", err=True)
        raise typer.Exit(2) from exc


def _texts_context(settings: Settings):  # type: ignore[no-untyped-def]
    """The catalog as the gateway would load it, and the longest values its texts carry here."""
    from gateway.record.texts import longest_values
    from gateway.services import menu_catalog
    from menus.catalog import CatalogError

    try:
        catalog = menu_catalog(settings)
    except CatalogError as exc:
        typer.echo(f"Menu texts refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        engine = db.make_engine(settings.resolved_database_url)
        db.upgrade(engine)
    except Exception:  # noqa: BLE001 - no database yet: measure with the demo directory's names
        engine = None
    return catalog, longest_values(engine, _rules(settings))


@texts_app.command("export")
def texts_export(lang: str = typer.Option(..., "--lang", help="language code, e.g. hi, bn, sat_olck")) -> None:
    """A language's texts as CSV on stdout: key, English, text, screen or SMS, budget, characters
    left (with the longest village, reference and unit), reviewed yes/no."""
    from menus.translations import export_rows, to_csv
    from routing.concerns import KEYS

    settings = _settings()
    catalog, values = _texts_context(settings)
    if not (lang == "en" or (len(lang) >= 2 and lang.replace("_", "").isalpha() and lang.islower())):
        typer.echo(f"Not a language code: {lang!r}", err=True)
        raise typer.Exit(2)
    if lang not in catalog.languages:
        typer.echo(f"No texts in {lang!r} yet: every text column is empty (known: {', '.join(catalog.codes)})", err=True)
    typer.echo(to_csv(export_rows(catalog, lang, values, KEYS)), nl=False)


@texts_app.command("import")
def texts_import(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a sheet made by `cpgw texts export`"),
    lang: Optional[str] = typer.Option(None, "--lang", help="the sheet's language (default: the file's name, hi.csv → hi)"),  # noqa: UP007
    out: Optional[Path] = typer.Option(None, "--out", help="write the YAML here instead of CPGW_TEXTS_DIR/<lang>.yaml"),  # noqa: UP007
) -> None:
    """Check a translated sheet row by row (placeholders kept, no blank, every screen and SMS within
    its budget with the longest values) and write it to the texts directory; nothing is written
    when a row is wrong, and each error names its line."""
    import re

    from gateway.record.texts import write_language
    from menus.catalog import FALLBACK
    from menus.translations import dump_language, read_csv
    from routing.concerns import KEYS

    code = lang or csv_file.stem
    if not re.fullmatch(r"[a-z]{2,3}(_[a-z]{4})?", code):
        typer.echo(f"Cannot tell the language from {csv_file.name!r}: name the file hi.csv or pass --lang", err=True)
        raise typer.Exit(2)
    settings = _settings()
    catalog, values = _texts_context(settings)
    try:
        text = csv_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        typer.echo(f"{csv_file.name}: not UTF-8 (save the sheet as CSV UTF-8): {exc}", err=True)
        raise typer.Exit(1) from exc
    imported = read_csv(text, code, catalog, values, KEYS, where=csv_file.name)
    if imported.problems:
        typer.echo("\n".join(imported.problems), err=True)
        typer.echo(f"Nothing written: {len(imported.problems)} problem(s) in {csv_file.name}.", err=True)
        raise typer.Exit(1)
    yaml_text = dump_language(imported.language, list(catalog.languages[FALLBACK].texts))
    if out is not None:
        out.write_text(yaml_text, encoding="utf-8")
        written = out
    else:
        written = write_language(settings.resolved_texts_dir, code, yaml_text)
    unread = len(imported.language.unreviewed)
    typer.echo(f"{len(imported.language.texts)} texts in {code!r} written to {written} "
               f"({unread} awaiting review); the gateway reads them at its next start.")


@routing_app.command("explain")
def routing_explain(
    village: int = typer.Option(..., help="village LGD code (or an urban ward's, as typed on USSD)"),
    concern: str = typer.Option(..., help="concern key, e.g. child_marriage"),
    urgent: bool = typer.Option(False, "--urgent", help="the child is in danger now"),
    at: Optional[str] = typer.Option(None, help='local time (IST) "YYYY-MM-DD HH:MM": who is on duty then'),  # noqa: UP007
) -> None:
    """Print the ladder a report would take: units, contacts (names only), deadlines, why, and gaps."""
    from gateway.record.routing_directory import SqlDirectory
    from routing.concerns import KEYS
    from routing.duties import explain_duties
    from routing.ladder import explain, route
    from routing.units import REPORTABLE_LEVELS

    settings = _settings()
    if concern not in KEYS:
        typer.echo(f"Unknown concern {concern!r}; one of: {', '.join(KEYS)}", err=True)
        raise typer.Exit(2)
    directory = SqlDirectory(_engine(settings))
    level = next((level for level in REPORTABLE_LEVELS if directory.chain(village, level)), None)
    if level is None:
        typer.echo(f"No village or ward with LGD code {village} in the directory.", err=True)
        raise typer.Exit(1)
    rules = _rules(settings)
    when = _local_time(at) if at else None
    ladder = route(village, concern, urgent, directory, rules, level=level)
    state = ladder.place("state")
    for line in explain(ladder, when, rules.days_off(state.lgd_code if state else None)):
        typer.echo(line)
    for line in explain_duties(rules.duties, concern, {unit for step in ladder.steps for unit in step.unit_keys}):
        typer.echo(line)


def _local_time(text: str):  # type: ignore[no-untyped-def]
    """ "2026-12-24 23:10" in India's time, or exit 2 with the format expected."""
    from datetime import datetime

    from routing.lifecycle import IST

    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=IST)
    except ValueError as exc:
        typer.echo(f'--at {text!r}: give a local time like "2026-12-24 23:10"', err=True)
        raise typer.Exit(2) from exc


@routing_app.command("gaps")
def routing_gaps(district: Optional[int] = typer.Option(None, help="district LGD code")) -> None:  # noqa: UP007
    """List villages (and wards) whose chain has a unit with no active contact (for the district plan)."""
    from sqlalchemy import select

    from gateway.record.models import Place
    from gateway.record.routing_directory import SqlDirectory
    from routing.ladder import coverage
    from routing.units import REPORTABLE_LEVELS

    settings = _settings()
    engine = _engine(settings)
    rules, directory = _rules(settings), SqlDirectory(engine)
    query = select(Place.lgd_code, Place.level, Place.name).where(
        Place.level.in_(REPORTABLE_LEVELS)).order_by(Place.level, Place.lgd_code)
    if district is not None:
        query = query.where(Place.district_lgd == district)
    found = 0
    with engine.connect() as connection:
        villages = connection.execute(query).all()
    for code, level, name in villages:
        gaps = coverage(code, directory, rules, level=level)
        if gaps:
            found += 1
            missing = ", ".join(
                f"{gap.unit} at {gap.place.name} ({gap.place.level} {gap.place.lgd_code})" if gap.place else gap.unit
                for gap in gaps
            )
            typer.echo(f"{code} {name}{'' if level == 'village' else f' ({level})'}: no active {missing}")
    typer.echo(f"{found} of {len(villages)} villages and wards have a coverage gap.")


@app.command()
def simulate(
    phone: str = typer.Option("+919800000001", help="the phone number to dial from"),
    url: str = typer.Option("http://127.0.0.1:8000", help="the running gateway"),
    sms: Optional[str] = typer.Option(None, help="send this SMS as the phone instead of dialling"),  # noqa: UP007
) -> None:
    """A feature phone in the terminal: dial the USSD service and type answers, or send an SMS.

    Replies to an SMS leave through the gateway's SMS transport: with the console transport of
    `make run`, they are printed in the gateway's terminal.
    """
    import httpx

    from gateway.devtools.simulate import run, send_sms

    settings = _settings()
    try:
        if sms is not None:
            typer.echo(send_sms(url, phone, sms, settings.webhook_token))
            return
        run(url, phone, settings.webhook_token)
    except httpx.ConnectError:
        typer.echo(f"No gateway answers at {url}. Start one with `make run` (or `cpgw serve`).", err=True)
        raise typer.Exit(1) from None
    except (EOFError, KeyboardInterrupt):
        typer.echo("\nHung up.")


@app.command()
def purge(
    closed_before: str = typer.Option(..., help="YYYY-MM-DD: cases resolved before this day"),
    force: bool = typer.Option(False, "--force", help="allow a date less than a year ago"),
) -> None:
    """Erase reporters' numbers of closed cases and villagers' old messages; keep the audit trail."""
    from datetime import UTC, datetime, timedelta

    from gateway.record.retention import purge_closed

    try:
        before = datetime.strptime(closed_before, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        typer.echo(f"--closed-before must be a date like 2025-03-31, not {closed_before!r}", err=True)
        raise typer.Exit(2) from exc
    if before > datetime.now(UTC) - timedelta(days=365) and not force:
        typer.echo("Logs must be kept at least a year (DPDP Rules 2025): choose an earlier date or --force.", err=True)
        raise typer.Exit(2)
    summary = purge_closed(_engine(_settings()), before)
    typer.echo(f"Purged {summary.cases} closed cases: {summary.numbers} reporters' numbers and "
               f"{summary.messages} villagers' messages erased; case histories kept.")


@app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every stored phone number under the current secret key.

    With CPGW_SECRET_KEY set: first give every process the new key in CPGW_SECRET_KEY and the old
    one in CPGW_SECRET_KEY_PREVIOUS, then run this, then drop CPGW_SECRET_KEY_PREVIOUS. With the
    key generated in the data dir: this makes the new key itself (the old one is kept as
    secret.key.previous); restart the gateway and workers afterwards.
    """
    import secrets as random

    from gateway.infra import files
    from gateway.infra.crypto import PhoneCipher
    from gateway.infra.settings import previous_secret_keys, secret_key
    from gateway.record.retention import rotate_stored_keys

    settings = _settings()
    engine = _engine(settings)
    if not settings.secret_key:
        # Each file is replaced whole by one made 0600, never written in place: no moment when a key
        # is readable by others, empty or half-written. The old key is kept first, so a crash in
        # between leaves it in both files.
        files.write_private(settings.data_dir / "secret.key.previous", secret_key(settings))
        files.write_private(settings.data_dir / "secret.key", random.token_urlsafe(48))
    cipher = PhoneCipher(secret_key(settings), previous_secret_keys(settings))
    summary = rotate_stored_keys(engine, cipher)
    typer.echo(f"Re-encrypted {summary.reporter_numbers} reporters' numbers, {summary.messages} messages and "
               f"{summary.opt_outs} opt-outs. Restart the gateway and workers; language memory and open SMS "
               "conversations (kept in Redis under the old key's hashes) start afresh.")
