"""The floor for the USSD benchmark: FastAPI + uvicorn doing nothing but parsing the webhook form.

It parses exactly the form Africa's Talking posts (through `fastapi.Form`, like the gateway), so the
gap between this app and the gateway is the gateway's own work, not HTTP or form parsing.
The endpoint is `async def` on purpose: it is the cheapest FastAPI can be (no thread-pool hop).
"""

from __future__ import annotations

from fastapi import FastAPI, Form
from fastapi.responses import PlainTextResponse

app = FastAPI(title="bare USSD floor")


@app.post("/webhooks/at/ussd", response_class=PlainTextResponse)
async def ussd(
    sessionId: str | None = Form(None),  # noqa: N803, ARG001  (Africa's Talking's field names)
    phoneNumber: str | None = Form(None),  # noqa: N803, ARG001
    networkCode: str | None = Form(None),  # noqa: N803, ARG001
    serviceCode: str | None = Form(None),  # noqa: N803, ARG001
    text: str | None = Form(None),  # noqa: ARG001
) -> PlainTextResponse:
    """A constant screen: whatever the form says, the cost measured is parsing it."""
    return PlainTextResponse("END ok")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Lets the benchmark wait for start-up the same way it waits for the gateway."""
    return {"status": "ok"}
