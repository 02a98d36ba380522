"""The district dashboard (SVG charts drawn on the server) and its CSV exports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.web.console import charts, exports, stats
from gateway.web.console.guards import ConsoleError, services, staff
from gateway.web.console.params import date_or_none, int_or_none, now
from gateway.web.console.places import districts, scoped_district
from gateway.web.console.reading import read_only
from gateway.web.console.templating import concern_label, render, secure, span
from gateway.web.console.users import StaffMember
from routing.lifecycle import IST

router = APIRouter(prefix="/console")


def board_for(request: Request, member: StaffMember) -> stats.Dashboard:
    svc = services(request)
    q = request.query_params
    today = now(svc).astimezone(IST).date()
    since, until = stats.clamp_period(date_or_none(q.get("since")), date_or_none(q.get("until")), today)
    district = scoped_district(member.principal, int_or_none(q.get("district")))
    with read_only(svc.engine) as session:
        return stats.build(session, district=district, since=since, until=until, now=now(svc))


def _charts(board: stats.Dashboard) -> dict[str, Any]:
    weeks = [week.strftime("%d %b") for week in board.weeks]
    fmt = lambda seconds: span(seconds)
    per_step = []
    for step in board.steps:
        rows = [s for s in board.ack_by_week if s.step == step]
        per_step.append((step, charts.lines(
            f"Time to acknowledgement, step {step + 1}", weeks,
            [("median", [s.median_s for s in rows]), ("90th percentile", [s.p90_s for s in rows])],
            fmt=fmt, dashed=(False, True), steps=charts.TIME_STEPS)))
    return {
        "concern_chart": charts.bars("Reports by concern", [(concern_label(c), n) for c, n in board.by_concern]),
        "block_chart": charts.bars("Reports by block", board.by_block),
        "weekly_chart": charts.columns("Reports and missed deadlines per week", weeks, [
            ("reports", [w["reports"] for w in board.weekly]),
            ("missed a deadline", [w["missed_deadline"] for w in board.weekly])]),
        "overdue_chart": charts.bars("Open cases past a deadline now, by block", board.overdue_now),
        "duty_chart": charts.bars("Done within 24 hours of the report (%)", [
            (f"{s.duty.upper()} · {s.block}", s.share or 0) for s in (board.duties.shares if board.duties else [])],
            unit="%"),
        "duty_hours_chart": charts.bars("Median hours from the report to each duty", [
            (key, hours or 0) for key, _, hours in (board.duties.duty_hours if board.duties else [])], unit=" h"),
        "closure_chart": charts.bars("Median hours from the report to closure, by concern", [
            (concern_label(c), hours or 0) for c, _, hours in (board.duties.closure_hours if board.duties else [])],
            unit=" h"),
        "step_charts": per_step,
    }


@router.get("/dashboard")
def dashboard_page(request: Request, member: StaffMember = Depends(staff)) -> Response:
    board = board_for(request, member)
    with read_only(services(request).engine) as session:
        choices = districts(session, member.principal)
    return render(request, "dashboard.html", {
        "board": board, "districts": choices, "exports": exports.EXPORTS, "query": request.url.query,
        "outcomes": board.duties.outcomes if board.duties else [], **_charts(board)})


@router.get("/dashboard/{name}.csv")
def dashboard_export(name: str, request: Request, member: StaffMember = Depends(staff)) -> Response:
    if name not in exports.WRITERS:
        raise ConsoleError(404, "No such export.")
    board = board_for(request, member)
    return secure(Response(exports.WRITERS[name](board), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{exports.filename(name, board)}"'}))
