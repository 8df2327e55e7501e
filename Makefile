# Hotline 1022 — `make run` starts everything, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Two stamps: what running needs (`make run`), and the test and lint tools on top (`make test`).
# Each is named by a digest of its inputs, so an edited requirements file reinstalls.
# --no-compile: Python compiles a module when it is first imported; compiling every module
# of every package at install time was half of a cold `make run`.
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt package.json package-lock.json | md5sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)
# Checks (and as root installs, with apt-get) the programs a bench or drill needs, and that
# the PostgreSQL and Redis the benches use by default answer (BENCH_*_URL: yours instead).
NEED := bash scripts/need_tools.sh
PG_UP := $(if $(BENCH_DATABASE_URL),,--listening "127.0.0.1:5432=PostgreSQL (user postgres trusted on 127.0.0.1; or set BENCH_DATABASE_URL)")
REDIS_UP := $(if $(BENCH_REDIS_URL),,--listening "127.0.0.1:6379=Redis (apt-get install -y redis-server; or set BENCH_REDIS_URL)")

.PHONY: run test install install-runtime install-dev translations shell lint format migration bench-intake bench-worker bench-sla bench-routing bench-digest chaos bench-ui messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): $(PY) requirements.txt package.json package-lock.json
	$(PIP) install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	$(PY) scripts/install_assets.py
	rm -f $(VENV)/.runtime-* $(VENV)/.installed-*
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PIP) install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	rm -f $(VENV)/.dev-*
	touch $(DEV_STAMP)

# What `make run` needs: the runtime packages, the front-end assets, the compiled catalogs.
install-runtime: $(RUNTIME_STAMP)
	@$(MAKE) --no-print-directory translations

# Everything, the test and lint tools included.
install install-dev: $(DEV_STAMP)
	@$(MAKE) --no-print-directory translations

# Compiled message catalogs are build output (git-ignored).
translations: $(RUNTIME_STAMP)
	@if ls hotline/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel --quiet compile -d hotline/translations; fi

# A bash with the virtualenv active: `flask --app wsgi hotline ...` works as the README
# writes it. Activated after ~/.bashrc, which may put another Python first in PATH (pyenv).
shell: install-runtime
	@printf '[ -f ~/.bashrc ] && . ~/.bashrc\n. "%s/bin/activate"\n' "$(CURDIR)/$(VENV)" > $(VENV)/shellrc
	@echo "virtualenv $(VENV) active; exit (or Ctrl-D) leaves it"
	@bash --rcfile $(VENV)/shellrc -i

run: install-runtime
	$(PY) scripts/launch.py

# mypy over hotline/ and workers/ (pyproject.toml), then the suite on two xdist workers,
# each with its own database and Redis db (tests/conftest.py says how);
# PYTEST_ARGS comes last, so PYTEST_ARGS="-n 0" runs the suite in one process.
test: install-dev
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check hotline workers tests config bench scripts
	$(VENV)/bin/ruff format --check hotline workers tests config bench scripts

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format hotline workers tests config bench scripts

# Rebuild the initial migration from the models (pre-release: one migration).
migration: $(DEV_STAMP)
	$(PY) scripts/make_migration.py

bench-worker: $(DEV_STAMP)
	@$(NEED) $(REDIS_UP)
	$(PY) bench/worker_throughput.py

# Intake: gunicorn + the signed Twilio SMS webhook under wrk (Debian package), against a
# floor app; PostgreSQL and Redis on 127.0.0.1 (BENCH_DATABASE_URL is emptied). RESULT last.
bench-intake: $(DEV_STAMP)
	@$(NEED) $(PG_UP) $(REDIS_UP) wrk:wrk
	$(PY) bench/intake.py

# Workers (PostgreSQL; BENCH_DATABASE_URL, a dedicated database that is emptied).
bench-sla: $(DEV_STAMP)
	@$(NEED) $(PG_UP) $(REDIS_UP)
	$(PY) bench/sla_sweep.py

bench-routing: $(DEV_STAMP)
	@$(NEED) $(PG_UP) $(REDIS_UP)
	$(PY) bench/routing_throughput.py

bench-digest: $(DEV_STAMP)
	@$(NEED) $(PG_UP) $(REDIS_UP)
	$(PY) bench/digest.py

# Staff pages with 1,000,000 tickets (PostgreSQL database hotline_bench_ui, emptied): queue and
# ticket page <= 100 ms p95 server time, dashboard <= 500 ms. RESULT last.
bench-ui: $(DEV_STAMP)
	@$(NEED) $(PG_UP) $(REDIS_UP)
	$(PY) bench/staff_pages.py

# Re-extract every message of the app into the English catalog (msgids are the Vietnamese
# texts), then translate the new entries; `make translations` compiles it.
messages: $(DEV_STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--no-location --sort-output -o $(VENV)/messages.pot .
	$(VENV)/bin/pybabel update -i $(VENV)/messages.pot -d hotline/translations -l en \
		--no-fuzzy-matching --ignore-obsolete

# The fault drill (docs/deploy.md): the real stack on 127.0.0.1 under load and faults; its
# last line is RESULT ... (exit 1 when anything was lost or sent twice). Needs root for its
# own PostgreSQL cluster, and nginx, redis-server, openssl. CHAOS_SMTP_OUTAGE=10 for a quick run.
chaos: $(DEV_STAMP)
	@$(NEED) --root "make chaos (its own PostgreSQL cluster)" nginx:nginx redis-server:redis-server \
		openssl:openssl pg_createcluster:postgresql-common pg_ctlcluster:postgresql-common \
		/usr/lib/postgresql/15/bin/postgres:postgresql-15 psql:postgresql-client \
		pg_isready:postgresql-client
	$(PY) bench/chaos.py

clean:
	rm -rf $(VENV) instance .pytest_cache
