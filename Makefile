# Two commands do everything on a fresh machine with Python 3.11 and a C compiler:
#   make run   — install, prepare the database, load the demo directory, serve on 127.0.0.1:8000
#   make test  — install the dev dependencies and run the whole suite
# Dependencies install only from the lock files requirements/main.lock (runtime) and
# requirements/dev.lock (runtime + the dev extra): exact versions, every file checked against its
# sha256 (pip --require-hashes). After changing a dependency in pyproject.toml, run `make lock`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The lock holds setuptools and wheel (the build backend of pyproject.toml), so the project itself
# installs with --no-build-isolation from those hash-checked copies, and --no-deps: its
# dependencies came from the lock already.
$(VENV)/.installed: pyproject.toml requirements/main.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements/main.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements/main.lock requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The console serves Hindi, Bengali and Ol Chiki in fonts cut from Debian's fonts-noto-core (a
# package: no root here, so only a hint); without it, pages fall back to the browser's fonts.
run: install
	@test -f $${CPGW_FONT_DIR:-/usr/share/fonts/truetype/noto}/NotoSansDevanagari-Regular.ttf \
		|| echo "  Note: no Noto fonts (apt-get install fonts-noto-core, or set CPGW_FONT_DIR): the console will show Hindi, Bengali and Ol Chiki only where the browser has fonts for them."
	$(BIN)/cpgw db upgrade
	$(BIN)/cpgw directory demo --if-empty
	@echo ""
	@echo "  Gateway starting on http://$(HOST):$(PORT)  (Ctrl-C stops it)"
	@echo "  Try it from another terminal, as a villager's phone:"
	@echo "      $(BIN)/cpgw simulate"
	@echo "  Demo village codes to type: 9001111 (Ranchi), 9101111 (Purulia), 9201111 (Udaipur)"
	@echo "  Console:    $(BIN)/cpgw user create admin --role admin   then  http://$(HOST):$(PORT)/console"
	@echo "  API token:  $(BIN)/cpgw token create --role admin   then  curl -H 'Authorization: Bearer …' http://$(HOST):$(PORT)/api/v1/cases"
	@echo ""
	$(BIN)/cpgw serve --host $(HOST) --port $(PORT)

# The console's end-to-end tests drive Debian's chromium (never a browser downloaded by Playwright);
# it is installed only when missing, and without it those tests skip with the reason. The same for
# the Noto fonts of Debian's fonts-noto-core, which `cpgw posters` draws Indian scripts with, and
# Debian's kannel (bearerbox, smsbox), which the Indian SMS route's tests run against a test SMSC.
# fonts-noto-core is also where the console's own fonts come from (Noto Sans, Devanagari, Bengali, Ol Chiki).
test: install-dev
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
		|| echo "chromium could not be installed: the console's browser tests will be skipped"
	test -f /usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-core) \
		|| echo "fonts-noto-core could not be installed: the poster tests and the console's font tests will be skipped"
	test -x /usr/sbin/bearerbox || command -v bearerbox >/dev/null \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y kannel) \
		|| echo "kannel could not be installed: the Indian SMS route's end-to-end tests will be skipped"
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python bench/ussd_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis

# The fault suite (tests/chaos, docs/reliability.md): real processes, Redis restarts, SQL outages,
# provider errors, a worker killed mid-send; a few minutes. Figures in bench/out/chaos.json.
.PHONY: chaos
chaos: install-dev
	$(BIN)/python -m pytest tests/chaos -m chaos

# Regenerate both lock files from pyproject.toml (dependencies, the dev extra, build-system.requires)
# with pip-tools, run from a throwaway venv, against PyPI alone (LOCK_INDEX; this machine's pip
# configuration is ignored so the hashes are those every machine downloads). Pins already in a lock
# are kept unless the resolution forces a change: `make lock LOCK_ARGS=--upgrade` moves everything
# to the newest releases, `make lock LOCK_ARGS='--upgrade-package fastapi'` only the one named.
# dev.lock is constrained by main.lock, so the runtime packages have the same versions in both.
# tests/test_lock.py fails while a dependency of pyproject.toml is missing from its lock.
PIP_TOOLS ?= pip-tools==7.7.0
LOCK_INDEX ?= https://pypi.org/simple
LOCK_FLAGS = --quiet --generate-hashes --allow-unsafe --strip-extras --build-deps-for editable \
	--index-url $(LOCK_INDEX) --no-emit-index-url --no-emit-find-links
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	export PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" && unset PIP_FIND_LINKS && \
	$(PYTHON) -m venv "$$tmp" && "$$tmp/bin/pip" install -q --index-url $(LOCK_INDEX) "$(PIP_TOOLS)" && \
	"$$tmp/bin/pip-compile" $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/main.lock pyproject.toml && \
	"$$tmp/bin/pip-compile" $(LOCK_FLAGS) $(LOCK_ARGS) --extra dev -c requirements/main.lock \
		-o requirements/dev.lock pyproject.toml
