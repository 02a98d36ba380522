"""Loaded by `cpgw serve` under bench/soak.py (this directory is put on its PYTHONPATH): every 5 s,
append what the process holds to $SOAK_PROBE_FILE as a JSON line, so that the soak can tell the
Python heap (object count) from SQLite's own heap (page caches) when RSS grows."""

import os
import sys

if os.environ.get("SOAK_PROBE_FILE") and "serve" in sys.argv[1:2]:
    import ctypes
    import gc
    import json
    import sqlite3  # noqa: F401 — loads the libsqlite3 that SQLAlchemy will use
    import threading
    import time

    def _sqlite_heap():  # type: ignore[no-untyped-def]
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libsqlite3" in line}
        if not paths:
            return None  # SQLite linked statically into _sqlite3: its counter is out of reach
        lib = ctypes.CDLL(min(paths))
        lib.sqlite3_memory_used.restype = ctypes.c_longlong
        return lib.sqlite3_memory_used

    def _probe() -> None:
        used = _sqlite_heap()
        while True:
            time.sleep(5)
            line = {"t": time.time(), "sqlite_heap_mb": round(used() / 2**20, 2) if used else None,
                    "python_objects": len(gc.get_objects()), "threads": threading.active_count()}
            with open(os.environ["SOAK_PROBE_FILE"], "a") as out:
                out.write(json.dumps(line) + "\n")

    threading.Thread(target=_probe, name="soak-probe", daemon=True).start()
