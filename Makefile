# Ciclo. `make run` serves the demo on http://127.0.0.1:8000; `make test` runs
# every check CI runs. Both build what they need first.
#
# VENV=.venv-other make test    uses another virtualenv folder
# PYTEST_ARGS='-k routing -x'   passes options to pytest
# ADDRESS=127.0.0.1:8001        serves `make run` elsewhere

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PYTEST_ARGS ?=
ADDRESS ?= 127.0.0.1:8000
APT_TEST_PACKAGES := gettext chromium fonts-liberation
DEMO_LOGINS := admin / supervisor / agente1 / agente2, password ciclo-demo

# Prefix for a recipe line that must run with its own throwaway data folder
# (CICLO_DATA_DIR: the SQLite file, the generated secret key), removed after.
TMP_DATA = d=$$(mktemp -d "$${TMPDIR:-/tmp}/ciclo-data.XXXXXX"); trap 'rm -rf "$$d"' EXIT; export CICLO_DATA_DIR=$$d;

.PHONY: help run test check lint format typecheck test-sqlite test-postgres messages compilemessages \
	bench lock deps-run deps-test clean distclean ruff-check format-check

help:
	@echo "make run         install, migrate, load the demo once, serve on http://127.0.0.1:8000"
	@echo "make test        lint, then the whole test suite on SQLite and on PostgreSQL (what CI runs)"
	@echo "make lint        ruff check + ruff format --check"
	@echo "make format      ruff format + ruff check --fix"
	@echo "make typecheck   mypy"
	@echo "make messages    extract translatable strings into ciclo/locale/pt_BR/LC_MESSAGES/django.po"
	@echo "make bench       run the benchmarks in bench/"
	@echo "make lock        regenerate requirements.lock and requirements-test.lock from pyproject.toml"
	@echo "make clean       remove caches and build leftovers (distclean: also $(VENV) and data/)"

# --- installs -------------------------------------------------------------

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements-test.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-run

deps-run: $(VENV)/.installed-run
	@command -v msgfmt >/dev/null || scripts/apt-deps gettext

deps-test: $(VENV)/.installed-test
	@scripts/apt-deps $(APT_TEST_PACKAGES)

lock:
	scripts/lock

# --- running --------------------------------------------------------------

run: deps-run compilemessages
	$(BIN)/ciclo migrate --noinput
	@if $(BIN)/ciclo shell --verbosity 0 -c 'from django.contrib.auth.models import User; raise SystemExit(0 if User.objects.filter(username="agente1").exists() else 1)' 2>/dev/null; \
	then echo "The demo is already loaded."; \
	else $(BIN)/ciclo demo; fi
	@echo
	@echo "Ciclo on http://$(ADDRESS) -- demo logins: $(DEMO_LOGINS)"
	@echo "With a worker and the scheduler (Procfile.dev); Ctrl-C stops all three."
	@echo
	ADDRESS=$(ADDRESS) PATH="$(BIN):$$PATH" PYTHONUNBUFFERED=1 $(BIN)/honcho -f Procfile.dev start

# --- translations ---------------------------------------------------------

messages: deps-run
	cd ciclo && $(BIN)/ciclo makemessages -l pt_BR --ignore=migrations

# From ciclo/ so that only the project's catalogs are compiled, not those
# of the packages in the virtualenv.
compilemessages: $(VENV)/.installed-run
	@command -v msgfmt >/dev/null || scripts/apt-deps gettext
	@$(TMP_DATA) cd ciclo && $(BIN)/ciclo compilemessages --verbosity 0

# --- checks ---------------------------------------------------------------

# Every step runs even when an earlier one fails (make -k), so one CI run
# reports all that is wrong; the exit status is non-zero if any failed.
test: deps-test compilemessages
	@$(MAKE) --no-print-directory -k check test-sqlite test-postgres; status=$$?; \
	if [ $$status -ne 0 ]; then echo; echo "make test: FAILED (see above)"; fi; exit $$status

check: lint typecheck

lint: ruff-check format-check

ruff-check: $(VENV)/.installed-test
	@echo "== ruff check"
	@$(BIN)/ruff check .

format-check: $(VENV)/.installed-test
	@echo "== ruff format --check"
	@$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.installed-test
	@echo "== mypy"
	@$(BIN)/mypy ciclo

test-sqlite: deps-test
	@echo "== pytest on SQLite"
	@$(TMP_DATA) time env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: deps-test
	@echo "== pytest on PostgreSQL"
	@$(TMP_DATA) time scripts/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

# --- benchmarks -----------------------------------------------------------

# Every bench/*.py but the helpers (_*.py), with its defaults; see bench/README.md.

bench: $(VENV)/.installed-test compilemessages
	@shopt -s nullglob; files=(bench/[!_]*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks in bench/"; exit 1; fi; \
	$(TMP_DATA) for f in "$${files[@]}"; do echo "== $$f"; $(BIN)/python "$$f" || exit $$?; done

# --- cleaning -------------------------------------------------------------

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build *.egg-info test-artifacts
	find . -path './.venv*' -prune -o -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find ciclo -name '*.mo' -delete

distclean: clean
	rm -rf $(VENV) data
