"""The garbage collector of a long-running process: its start-up objects frozen out of full passes."""

from __future__ import annotations

import gc


def freeze_start_up_objects() -> None:
    """Keep the collector's full passes off the objects that live as long as the process.

    Modules, the menu catalog, SQLAlchemy's compiled statements and pydantic's validators never
    die, yet every full collection walked them all with the process stopped: 140–200 ms in the web
    process, every 4–5 s under load (objects of requests in flight survive into the oldest
    generation), felt by every villager waiting at that moment; ~110 ms in serve's effects process,
    where the villagers filing a report were kept waiting (docs/benchmarks.md, the tenth session).
    Frozen, a full pass walks only what was made since. Collected first, so that no garbage of
    start-up is frozen with them. `cpgw serve`'s processes and `cpgw worker` ask for this; tests,
    which start hundreds of apps in one process, do not.
    """
    gc.collect()
    gc.freeze()
