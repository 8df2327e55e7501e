# Hotline 1022 — `make run` starts everything, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)

.PHONY: run test install install-dev translations lint format migration bench-intake bench-worker bench-sla bench-routing bench-digest chaos bench-ui messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-dev.txt package.json
	$(PIP) install --quiet -r requirements-dev.txt
	$(PY) scripts/install_assets.py
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install install-dev: $(STAMP)
	$(MAKE) --no-print-directory translations

# Compiled message catalogs are build output (git-ignored).
translations: $(STAMP)
	@if ls hotline/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel compile -d hotline/translations; fi

run: install
	$(PY) scripts/launch.py

# Two xdist workers, each with its own database and Redis db (tests/conftest.py says how);
# PYTEST_ARGS comes last, so PYTEST_ARGS="-n 0" runs the suite in one process.
test: install
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check hotline workers tests config bench scripts
	$(VENV)/bin/ruff format --check hotline workers tests config bench scripts

format: $(STAMP)
	$(VENV)/bin/ruff format hotline workers tests config bench scripts

# Rebuild the initial migration from the models (pre-release: one migration).
migration: $(STAMP)
	$(PY) scripts/make_migration.py

bench-worker: $(STAMP)
	$(PY) bench/worker_throughput.py

# Intake: gunicorn + the signed Twilio SMS webhook under wrk (Debian package), against a
# floor app; PostgreSQL and Redis on 127.0.0.1 (BENCH_DATABASE_URL is emptied). RESULT last.
bench-intake: $(STAMP)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
	$(PY) bench/intake.py

# Workers (PostgreSQL; BENCH_DATABASE_URL, a dedicated database that is emptied).
bench-sla: $(STAMP)
	$(PY) bench/sla_sweep.py

bench-routing: $(STAMP)
	$(PY) bench/routing_throughput.py

bench-digest: $(STAMP)
	$(PY) bench/digest.py

# Staff pages with 1,000,000 tickets (PostgreSQL database hotline_bench_ui, emptied): queue and
# ticket page <= 100 ms p95 server time, dashboard <= 500 ms. RESULT last.
bench-ui: $(STAMP)
	$(PY) bench/staff_pages.py

# Re-extract every message of the app into the English catalog (msgids are the Vietnamese
# texts), then translate the new entries; `make translations` compiles it.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--no-location --sort-output -o $(VENV)/messages.pot .
	$(VENV)/bin/pybabel update -i $(VENV)/messages.pot -d hotline/translations -l en \
		--no-fuzzy-matching --ignore-obsolete

# The fault drill (docs/deploy.md): the real stack on 127.0.0.1 under load and faults; its
# last line is RESULT ... (exit 1 when anything was lost or sent twice). Needs root for its
# own PostgreSQL cluster, and nginx, redis-server, openssl. CHAOS_SMTP_OUTAGE=10 for a quick run.
chaos: $(STAMP)
	$(PY) bench/chaos.py

clean:
	rm -rf $(VENV) instance .pytest_cache
