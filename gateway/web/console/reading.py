"""Sessions for pages that only read.

On SQLite every ordinary transaction begins IMMEDIATE (gateway.record.db), taking the write lock: a
console page that reads the queue would then hold up a villager's report being stored, and a
page that opened a second session while the first was open would wait on itself. A read-only
session begins a plain (deferred) transaction instead, which in WAL mode never waits on a writer.
On PostgreSQL the option changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.record.db import READ_ONLY


def read_only(engine: Engine) -> Session:
    return Session(engine.execution_options(**{READ_ONLY: True}))
