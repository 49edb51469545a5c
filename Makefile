# Everyday verbs. `make demo` and `make test` are the README's two commands.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST := $(BIN)/pytest -n 2 -p no:cacheprovider

.PHONY: install demo up test test-sqlite test-postgres lint typecheck format schema clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "the kit needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: install            ## (1) install, then run the kit's main job on the embedded default
	$(BIN)/strangler demo

up: install
	$(BIN)/strangler up

test: install lint typecheck test-sqlite test-postgres   ## (2) everything CI runs

test-sqlite: install
	@mkdir -p reports
	KIT_DB=sqlite $(PYTEST) -m "not postgres" --junitxml=reports/sqlite.xml --behaviour-summary reports/behaviour-sqlite.md
	KIT_DB=sqlite $(PYTEST) extracted/notifications --ds notifications_service.test_settings -m "not postgres" --junitxml=reports/notifications-sqlite.xml
	KIT_DB=sqlite $(PYTEST) extracted/catalog --ds catalog_service.settings_test -m "not postgres" --junitxml=reports/catalog-sqlite.xml

# Each extracted service's tests run in a pytest of their own (--ds: its settings; its Django app
# shares an app label with the monolith's, so the two cannot load in one process).
# The PostgreSQL pass runs what touches a database (the monolith, the event backbone, the
# behaviour suite against a PostgreSQL-backed monolith), then every test marked `postgres`.
test-postgres: install
	@mkdir -p reports
	KIT_DB=postgres $(PYTEST) monolith migrations tests/behaviour --junitxml=reports/postgres.xml --behaviour-summary reports/behaviour-postgres.md
	KIT_DB=postgres $(PYTEST) -m postgres tests strangler-proxy contracts --junitxml=reports/postgres-marked.xml
	KIT_DB=postgres $(PYTEST) extracted/notifications --ds notifications_service.test_settings --junitxml=reports/notifications-postgres.xml
	KIT_DB=postgres $(PYTEST) extracted/catalog --ds catalog_service.settings_test --junitxml=reports/catalog-postgres.xml

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

schema: install          ## regenerate the committed OpenAPI schema after an API change
	cd monolith && SHOP_DEBUG=1 ../$(BIN)/python manage.py spectacular --fail-on-warn --file openapi.yaml

clean:
	rm -rf .kit reports
