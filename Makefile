# Two commands do everything on a fresh machine with Python 3.11 and a C compiler:
#   make run   — install, prepare the database, load the demo directory, serve on 127.0.0.1:8000
#   make test  — install the dev dependencies and run the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
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
# it is installed only when missing, and without it those tests skip with the reason.
test: install-dev
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
		|| echo "chromium could not be installed: the console's browser tests will be skipped"
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
