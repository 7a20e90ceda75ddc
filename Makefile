# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint migrations-check schema-check deploy-check bench bench-small clean

$(BIN)/python:
	@echo "==> Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-app: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> Installing the application and its pinned dependencies"
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> Installing the application with its test tools"
	$(PIP) -e ".[test]"
	@touch $@ $(VENV)/.installed-app

## demo: the seeded sandbox on http://127.0.0.1:$(PORT) (embedded SQLite, no servers needed)
demo: $(VENV)/.installed-app
	@echo "==> Migrating the embedded demo database (var/demo.sqlite3)"
	DJANGO_ENV=demo $(BIN)/python manage.py migrate --no-input
	@echo "==> Seeding the demo world"
	DJANGO_ENV=demo $(BIN)/python manage.py seed_demo --port $(PORT)
	@echo "==> Serving on http://127.0.0.1:$(PORT)/  (Ctrl-C to stop)"
	DJANGO_ENV=demo $(BIN)/python manage.py runserver 127.0.0.1:$(PORT) --noreload

## test: the whole suite, on PostgreSQL and a real Celery worker
test: $(VENV)/.installed-test
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: $(VENV)/.installed-test
	DJANGO_ENV=demo DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

schema-check: $(VENV)/.installed-app
	DJANGO_ENV=demo DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

deploy-check: $(VENV)/.installed-app
	DJANGO_ENV=production DJANGO_ALLOWED_HOSTS=yibao.example DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

## bench: every benchmark at full size (1,000,000 persons; PostgreSQL and Redis on 127.0.0.1)
bench: $(VENV)/.installed-app
	$(BIN)/python bench/run.py all --json-dir var/bench

## bench-small: every benchmark at the CI smoke size, in a minute or two
bench-small: $(VENV)/.installed-app
	$(BIN)/python bench/run.py all --small

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
