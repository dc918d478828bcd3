# Meshdeck: `make run` serves the portal on the embedded default;
# `make test` installs what the tests need and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements.lock
# A new stamp (and so a reinstall) whenever pyproject.toml or the lock changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install lock vendor test-deps migrate bench load screenshots clean

# Installs exactly the versions (and hashes) in requirements.lock; pyproject.toml keeps the ranges.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "install: Python packages from $(LOCK) into $(VENV)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q --require-hashes -r $(LOCK)
	@$(PY) -m pip install -q --no-deps -e .
	@$(PY) scripts/check_lock.py
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Re-resolve the lock from pyproject.toml's ranges (all platforms, Python 3.11, with hashes).
# `make lock UPGRADE=1` moves every pin to the newest release the ranges allow.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install -q uv
	@$(PY) -m uv pip compile pyproject.toml --extra test --extra lint --universal --python-version 3.11 \
		--generate-hashes --quiet $(if $(UPGRADE),--upgrade) --output-file $(LOCK) \
		--custom-compile-command "make lock"
	@echo "lock: $(LOCK) written; commit it"

vendor:
	@bash scripts/vendor.sh

migrate: install
	@$(PY) manage.py migrate --noinput -v0

run: install vendor migrate
	@$(PY) manage.py seed_demo
	@$(PY) manage.py runportal --host $(HOST) --port $(PORT)

test-deps:
	@bash scripts/test-deps.sh
	@bash scripts/kube/build.sh
	@bash scripts/services.sh

# Lint first: a finding fails `make test` (and CI) before any service starts.
lint: install
	@echo "lint: ruff check, mypy"
	@$(PY) -m ruff check --quiet . || { echo "lint: ruff found the problems above (many fix themselves: $(PY) -m ruff check --fix .)" >&2; exit 1; }
	@$(PY) -m mypy || { echo "lint: mypy found the type errors above in apps/ or portal/ (config: [tool.mypy] in pyproject.toml)" >&2; exit 1; }

test: install lint vendor test-deps
	@$(PY) -m pytest $(PYTEST_ARGS)

# Not part of CI: prints figures; the latest are recorded in docs/benchmarks.md and docs/simulator.md.
# PostgreSQL and Redis: DATABASE_URL / REDIS_URL (default: the local services; the benchmarks make
# and drop databases of their own).
bench: install vendor test-deps
	@$(PY) benchmarks/simulator_bench.py
	@$(PY) benchmarks/graph_bench.py
	@$(PY) benchmarks/build_bench.py
	@$(PY) benchmarks/browser_bench.py
	@DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} $(PY) benchmarks/audit_bench.py
	@DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} $(PY) benchmarks/history_bench.py
	@DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(PY) benchmarks/ws_fanout_bench.py

# 100 logged-in users for 60 s on the production topology (locust, the `load` extra).
load: install vendor test-deps
	@$(PY) -m pip install -q -e '.[load]'
	@DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(PY) benchmarks/load/run.py

# Every page to var/screenshots/readme-run/, the README's three to docs/screenshots/ (PostgreSQL: DATABASE_URL's server).
screenshots: install vendor test-deps
	@DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} $(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) node_modules static/vendor var
