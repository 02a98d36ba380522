"""The console's HTML routes, one module per page family, all under `/console`."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.web.console.routes import auth, callbacks, cases, dashboard, directory

router = APIRouter(include_in_schema=False)
for module in (auth, cases, directory, dashboard, callbacks):
    router.include_router(module.router)
