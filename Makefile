# Two commands on a fresh machine:
#   make demo   sets up .venv and runs the bot against a throwaway local Synapse
#   make test   sets up .venv and runs the whole test suite (CI runs exactly this)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# Python keeps compiled modules in __pycache__ (ignored by git), whatever the shell says: with
# PYTHONDONTWRITEBYTECODE set, as on these machines, every test worker and every bot the integration
# tests start compiled the whole bot again, about 5 s a process.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo chat test lint unit bench guide-images setup-demo setup-test setup-js setup-pg setup-browser setup-container clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# A stamp per extra set, rebuilt when pyproject.toml changes.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,test-st]"
	touch $@ $(VENV)/.demo-installed

setup-demo: $(VENV)/.demo-installed
setup-test: $(VENV)/.test-installed

# The person on Element's own crypto in the integration tests: matrix-js-sdk under Node, versions
# locked in package-lock.json. Debian's Node comes in only where the machine has none.
JS_HUMAN = tests/integration/js
$(JS_HUMAN)/node_modules/.installed: $(JS_HUMAN)/package.json $(JS_HUMAN)/package-lock.json
	{ command -v node && command -v npm; } >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --prefix $(JS_HUMAN) --no-audit --no-fund --loglevel=error
	touch $@

setup-js: $(JS_HUMAN)/node_modules/.installed

# The storage tests run on PostgreSQL too, on a throwaway cluster the tests start (tests/postgres.py):
# they need Debian's server binaries, not a running server. Debian would create and start a cluster
# of its own on install; the setting below stops it, before the package is there to read it.
PG_BINDIR = $(firstword $(wildcard /usr/lib/postgresql/*/bin))
setup-pg:
	@if [ -x "$(PG_BINDIR)/initdb" ] && [ -x "$(PG_BINDIR)/pg_ctl" ]; then :; \
	elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then :; else \
	  mkdir -p /etc/postgresql-common && \
	  echo "create_main_cluster = false" >> /etc/postgresql-common/createcluster.conf && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    -o Dpkg::Options::=--force-confold postgresql; \
	fi

# The board's browser tests drive Debian's Chromium through Playwright (never `playwright install`,
# which downloads a browser build); emoji fonts so 👍/👎 show in the screenshots.
setup-browser:
	test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji; }

# deploy/Containerfile is built and started by tests/integration/test_container.py with Debian's podman; runc
# because crun refuses hybrid cgroups, debootstrap for a base image where no registry is reachable. Where
# nothing can be installed (no apt-get, not root), the test says why it is skipped.
setup-container:
	@if command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap; \
	else echo "setup-container: podman, runc or debootstrap missing and no apt-get as root: the container test will skip"; fi

demo: setup-demo
	$(BIN)/manufacture-bot demo --dir demo-data $(DEMO_ARGS)

# `make chat USER=alice`: USER counts only when given on make's command line (the shell has its own).
CHAT_AS = $(if $(filter command line,$(origin USER)),--user $(USER),)
chat: setup-demo
	$(BIN)/manufacture-bot chat --dir demo-data $(CHAT_AS)

# The gates: lint findings, formatting and typing, all at zero (configured in pyproject.toml).
lint: setup-test
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy

# Unit tests on every core (pytest-xdist); the integration tests after them, one at a time, since they share
# one Synapse and time real round trips.
UNIT_WORKERS ?= -n auto

test: setup-test setup-js setup-pg setup-browser setup-container lint
	$(BIN)/python -m pytest tests/unit $(UNIT_WORKERS) $(PYTEST_ARGS)
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

unit: setup-test setup-pg
	$(BIN)/python -m pytest tests/unit $(UNIT_WORKERS) $(PYTEST_ARGS)

# The guide's screenshots (docs/images/), taken by the board's browser test.
guide-images: setup-test setup-js setup-browser
	MANUFACTURE_GUIDE_IMAGES=1 $(BIN)/python -m pytest tests/integration/test_board_browser.py $(PYTEST_ARGS)

bench: setup-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-data .pytest_cache build/test-cache $(JS_HUMAN)/node_modules
