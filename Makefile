# Two commands: `make run` (the whole demo, one terminal, Ctrl-C stops it) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SIM_RIDERS ?= 3
export DEMO_MODE ?= 1

.PHONY: run test install migrate demo demo-order messages static urls screenshots lint lint-js bench-pickup bench-suggest bench-geofence bench-http bench-live bench-lunch lighthouse lighthouse-board clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py demo_data

demo-order: install
	$(BIN)/python manage.py demo_order --port $(PORT) $(if $(RIDER),--rider $(RIDER))

# The zh-Hans catalogs: locale/*/LC_MESSAGES/*.po -> .mo, after editing a .po (needs GNU gettext's msgfmt; the
# compiled .mo files are committed, so `make run` and `make test` need no gettext).
messages: install
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var

# Hashed, gzip'd and Brotli'd static files into var/staticfiles (served by WhiteNoise), collected again only when
# a file or folder under static/, the settings or the installed packages (the venv stamp) are newer than the stamp
# (a folder's time changes when a file in it is added or removed). collectstatic costs about a minute of CPU.
STATIC_STAMP := $(or $(STATIC_ROOT),var/staticfiles)/.collected
$(STATIC_STAMP): $(VENV)/.installed $(shell find static -mindepth 1 2>/dev/null) $(wildcard config/settings.py config/settings/*.py)
	$(BIN)/python manage.py collectstatic --noinput -v 0
	touch $@

static: $(STATIC_STAMP)

# The banner (URLs and demo logins) is printed by supervisord's `banner` program once the server answers.
run: install static
	$(BIN)/python manage.py demo_data --migrate
	@mkdir -p var/celery/queue var/celery/processed
	PORT=$(PORT) SIM_RIDERS=$(SIM_RIDERS) VAR_DIR=$${VAR_DIR:-$(CURDIR)/var} $(BIN)/supervisord -c config/supervisord.conf

test: install static lint-js
	@mkdir -p var
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# The demo's URLs and logins again (the banner `make run` prints once the server answers).
urls: install
	@$(BIN)/python manage.py run_banner --port $(PORT)

# Refresh the README's screenshots in docs/screenshots/ (tests write them to var/screenshots/ otherwise).
screenshots: install static
	DOCS_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest $(shell grep -l docs_screenshots tests/browser/*.py)

# ESLint over static/ (eslint.config.mjs); the pinned eslint is npm-ci'd into var/eslint on first use.
lint-js:
	scripts/eslint.sh

lint: install lint-js
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

bench-pickup: install
	rm -f var/bench-pickup.sqlite3*
	SQLITE_PATH=var/bench-pickup.sqlite3 $(BIN)/python manage.py migrate --noinput -v 0
	SQLITE_PATH=var/bench-pickup.sqlite3 $(BIN)/python manage.py bench_pickup

# Suggestions over 10,000 on-duty riders (docs/suggestions.md); DATABASE_URL= runs it on PostgreSQL.
bench-suggest: install
	rm -f var/bench-suggest.sqlite3*
	SQLITE_PATH=var/bench-suggest.sqlite3 $(BIN)/python manage.py migrate --noinput -v 0
	SQLITE_PATH=var/bench-suggest.sqlite3 $(BIN)/python manage.py bench_suggest

bench-geofence: install
	rm -f var/bench.sqlite3*
	SQLITE_PATH=var/bench.sqlite3 $(BIN)/python manage.py migrate --noinput -v 0
	SQLITE_PATH=var/bench.sqlite3 $(BIN)/python manage.py bench_geofence

bench-http: install
	$(BIN)/python -m tests.bench_http

# Rider sockets through daphne vs a bare echo consumer; scale profile when DATABASE_URL and REDIS_URL are set.
bench-live: install
	PYTHONPATH=$(CURDIR) $(BIN)/python -m tests.bench_live $(BENCH_ARGS)

bench-lunch: install  # bench-live with the lunch peak beside the pings (docs/bench-live.md)
	PYTHONPATH=$(CURDIR) $(BIN)/python -m tests.bench_live --lunch-peak 3000 $(BENCH_ARGS)

# Lighthouse per screen, median of 3 (npm's lighthouse from scripts/lighthouse-npm/package-lock.json into var/node;
# needs node and npm). URL= measures a running stack instead of a fresh one; LH_ARGS= goes to lighthouse.
lighthouse: install static
	PYTHONPATH=$(CURDIR) $(BIN)/python scripts/lighthouse.py

# The dispatch board alone with 100 open orders and 50 riders on duty (docs/board.md).
lighthouse-board: install static
	BOARD_SCENE=100,50 SCREENS="dispatch board" PYTHONPATH=$(CURDIR) $(BIN)/python scripts/lighthouse.py

clean:
	rm -rf var
