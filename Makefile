# Two commands: `make run` (the app with its demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench install chromium clean translations i18n-update lint-imports

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Compiled catalogues are built here, never committed (a stale .mo can't hide a missing string).
translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d translations --statistics

# After changing strings: extract them and merge them into every language's catalogue.
i18n-update: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations

run: $(STAMP) translations
	$(PY) -m scripts.devserver

# Browser tests drive Debian's Chromium; install it when it is missing and we may.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
	  else echo "Chromium missing: run 'sudo apt-get install chromium'"; exit 1; fi; }

# The package layout is the architecture: its import contracts (pyproject.toml [tool.importlinter]).
lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports

# Four pytest workers (pytest-xdist): most of a test's time is spent waiting on the emulator, Redis,
# the database or Chromium, so four share two cores well. Each worker has its own database, Redis
# server and emulator (session fixtures in tests/conftest.py). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 4

test: $(STAMP) chromium translations lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL: every suite that touches the database (not the emulator's, the HTTP client's or the browser's;"; \
	  echo "   chaos-then-tie-out tests fault recovery, not the database, and runs on SQLite only) =="; \
	  $(PY) -m pytest -n $(TEST_WORKERS) -m "not browser" --db=postgres tests/test_*.py tests/accounts tests/ledger tests/desk tests/views \
	    tests/quickbooks/sync tests/quickbooks/changes tests/quickbooks/problems tests/quickbooks/test_*.py tests/reliability tests/api \
	    --deselect tests/reliability/test_chaos_tieout.py::test_it_ties_out_with_zero_differences_after_chaos_and_only_waiting; \
	fi

# Benchmarks (benches/README.md): throughput, change detection, desk at scale, several workers.
bench: $(STAMP) translations
	$(PY) -m benches

clean:
	rm -rf $(VENV) instance/app.db
