"""The lock files hold every dependency that pyproject.toml names, pinned and hashed.

`make install` and `make install-dev` (and the Dockerfile) install only from requirements/main.lock
and requirements/dev.lock with `pip install --require-hashes`. A dependency added to pyproject.toml
without `make lock` would then be missing at install time; these tests say so first, without
touching the network.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MAIN_LOCK = ROOT / "requirements" / "main.lock"
DEV_LOCK = ROOT / "requirements" / "dev.lock"

_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
_HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def normalise(name: str) -> str:
    """PEP 503: case, '-', '_' and '.' do not tell two names apart."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    assert match, f"cannot read a package name in {requirement!r}"
    return normalise(match.group(1))


def read_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """{normalised name: (version, [hash options])} for every requirement line of a pip-compile lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "-")):  # comments; options such as --index-url
            continue
        spec, *options = line.split()
        pin = _PIN.match(spec)
        assert pin, f"{path.name}: not an exact pin: {raw.strip()!r}"
        name = normalise(pin.group(1))
        assert name not in entries, f"{path.name}: {name} is listed twice"
        entries[name] = (pin.group(2), [option for option in options if option.startswith("--hash=")])
    return entries


RUNTIME = sorted({requirement_name(r) for r in PYPROJECT["project"]["dependencies"]})
DEV = sorted({requirement_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]})
# The project itself installs with --no-build-isolation, from the build backend the lock pins.
BUILD = sorted({requirement_name(r) for r in PYPROJECT["build-system"]["requires"]})

CASES = [("main.lock", name) for name in RUNTIME + BUILD] + [
    ("dev.lock", name) for name in RUNTIME + DEV + BUILD
]


@pytest.fixture(scope="module")
def locks() -> dict[str, dict[str, tuple[str, list[str]]]]:
    return {"main.lock": read_lock(MAIN_LOCK), "dev.lock": read_lock(DEV_LOCK)}


@pytest.mark.parametrize(("lock", "name"), CASES, ids=[f"{lock}:{name}" for lock, name in CASES])
def test_every_dependency_is_pinned_and_hashed(locks, lock, name):
    assert name in locks[lock], f"{name} is in pyproject.toml but not in requirements/{lock}: run `make lock`"
    version, hashes = locks[lock][name]
    assert hashes, f"{name}=={version} has no --hash in requirements/{lock}: run `make lock`"
    assert all(_HASH.match(h) for h in hashes), f"{name}: {hashes}"


def test_every_locked_package_is_hashed(locks):
    """pip's --require-hashes refuses a lock with one unhashed line: say which, here."""
    for lock, entries in locks.items():
        unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
        assert not unhashed, f"requirements/{lock} pins without a hash: {unhashed}"


def test_dev_lock_has_the_runtime_lock_versions(locks):
    """`make test` must exercise the versions that `make install` and the image run."""
    main, dev = locks["main.lock"], locks["dev.lock"]
    differ = {name: (version, dev.get(name, (None,))[0]) for name, (version, _) in main.items()
              if dev.get(name, (None,))[0] != version}
    assert not differ, f"main.lock vs dev.lock (run `make lock`): {differ}"


def test_the_test_client_finds_httpx2():
    """starlette.testclient (FastAPI's TestClient) imports httpx2 and takes plain httpx only with a
    StarletteDeprecationWarning, an error under this suite's filterwarnings: httpx2 looks unused
    to a grep of this repository but is not. httpx itself is the runtime's (cli, simulate)."""
    assert "httpx2" in DEV
    assert "httpx" in RUNTIME
