# Two commands on a fresh machine: `make run` and `make test`.
# Both bootstrap .venv; `make test` also installs Chromium and PostgreSQL
# from Debian when they are missing (the tests need the real ones).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
AXE     := tests/a11y/node_modules/axe-core/axe.min.js

.PHONY: run test lint venv system-deps a11y bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Chromium for the web UI tests, PostgreSQL for the multi-process storage
# tests, npm for axe-core, nginx and systemd-analyze to check the deploy/
# examples, from Debian's packages (nothing else can be fetched here).
system-deps:
	@need=""; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	( command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ) || need="$$need nginx"; \
	command -v systemd-analyze >/dev/null || need="$$need systemd"; \
	command -v npm >/dev/null || need="$$need npm"; \
	( command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ) || need="$$need postgresql"; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$need; \
	fi

# axe-core for the accessibility checks of the browser tests, at the version
# pinned by tests/a11y/package-lock.json (npm ci checks its integrity hash).
$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	cd tests/a11y && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(AXE)

a11y: $(AXE)

# The demo server and two witnesses of its own (demo/run.py); Ctrl-C stops all three.
run: $(STAMP)
	$(BIN)/python -m demo.run

# ruff (lint and format) over the tree; mypy strict on the layers that hold
# the rules (pyproject.toml [tool.mypy]). `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy crypto delegation tally ballots vocabulary.py

# Three workers (pytest-xdist; the tests wait on servers and browsers, so a
# third worker helps on two cores: 492 s against 543 s with two, same tree,
# same machine), a test file per worker at a time so that a file's session
# fixtures (the 20,000-member assembly, PostgreSQL) are built once; a test
# that hangs fails after 10 minutes with its traceback.
test: $(STAMP) system-deps $(AXE) lint
	$(BIN)/python -m pytest -q -n 3 --dist loadfile --timeout 600 --durations=15

bench: $(STAMP)
	$(BIN)/python bench/crypto.py

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis tests/a11y/node_modules
