# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
# The simplified-Chinese catalogue: the .po is committed, the .mo compiled from it.
CATALOGUE := locale/zh_Hans/LC_MESSAGES/django
PIP := $(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt

.PHONY: demo demo-reset test messages compile-messages lint migrations-check schema-check deploy-check bench bench-small mutation clean

$(BIN)/python:
	@echo "==> Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-app: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> Installing the application and its pinned dependencies"
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-demo: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> Installing the application with the demo's embedded PostgreSQL"
	$(PIP) -e ".[demo]"
	@touch $@ $(VENV)/.installed-app

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> Installing the application with its test tools"
	$(PIP) -e ".[demo,test]"
	@touch $@ $(VENV)/.installed-app $(VENV)/.installed-demo

$(VENV)/.installed-mutation: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> Installing the application with its test and mutation-testing tools"
	$(PIP) -e ".[demo,test,mutation]"
	@touch $@ $(VENV)/.installed-app $(VENV)/.installed-demo $(VENV)/.installed-test

## demo: the seeded sandbox on http://127.0.0.1:$(PORT) (embedded PostgreSQL, no servers needed)
demo: $(VENV)/.installed-demo $(CATALOGUE).mo
	DJANGO_ENV=demo $(BIN)/python manage.py serve_demo --port $(PORT)

## demo-reset: throw the demo world away, seed a new one and serve it
demo-reset: $(VENV)/.installed-demo $(CATALOGUE).mo
	DJANGO_ENV=demo $(BIN)/python manage.py serve_demo --port $(PORT) --reset

## test: the whole suite, on PostgreSQL and a real Celery worker
test: $(VENV)/.installed-test $(CATALOGUE).mo
	$(BIN)/pytest

# The project's texts in simplified Chinese: locale/zh_Hans/LC_MESSAGES/django.po (committed).
# Directories whose files are not the application's own texts:
MESSAGES_IGNORE := --ignore=var --ignore=staticfiles --ignore=mutants --ignore=bench --ignore=build --ignore=node_modules
## messages: extract every gettext text into the catalogue (new ones untranslated, changed ones fuzzy);
## translate them in locale/zh_Hans/LC_MESSAGES/django.po, then `make compile-messages`
messages: $(VENV)/.installed-app
	DJANGO_ENV=test $(BIN)/python manage.py makemessages --locale zh_Hans --no-obsolete --add-location=file $(MESSAGES_IGNORE)

## compile-messages: the compiled catalogue (.mo) the server reads (needs GNU gettext's msgfmt)
compile-messages: $(CATALOGUE).mo

$(CATALOGUE).mo: $(CATALOGUE).po | $(VENV)/.installed-app
	@command -v msgfmt >/dev/null || { echo "msgfmt not found: install GNU gettext (apt-get install gettext, brew install gettext)"; exit 1; }
	DJANGO_ENV=test $(BIN)/python manage.py compilemessages --locale zh_Hans $(MESSAGES_IGNORE) --ignore=.venv --ignore='.*'

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

migrations-check: $(VENV)/.installed-test
	DJANGO_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run

schema-check: $(VENV)/.installed-app
	DJANGO_ENV=test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

deploy-check: $(VENV)/.installed-app
	DJANGO_ENV=production DJANGO_ALLOWED_HOSTS=yibao.example DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

## bench: every benchmark at full size (1,000,000 persons; PostgreSQL and Redis on 127.0.0.1)
bench: $(VENV)/.installed-app
	$(BIN)/python bench/run.py all --json-dir var/bench

## bench-small: every benchmark at the CI smoke size, in a minute or two
bench-small: $(VENV)/.installed-app
	$(BIN)/python bench/run.py all --small

## mutation: the mutation score of the pure business rules ([tool.mutmut]: the balance diagnosis,
## its notices, the reason catalogue, the settlement calculation) under their database-free tests;
## one process at a time, about 15 minutes on two cores
# The tests it runs need no server: the database is named but never reached, the cache is in-process.
MUTATION_ENV := CI= DATABASE_URL=postgres://postgres@127.0.0.1:5432/yibao_mutation CELERY_BROKER_URL=memory:// REDIS_URL=
mutation: $(VENV)/.installed-mutation
	rm -rf mutants
	$(MUTATION_ENV) $(BIN)/mutmut run --max-children 1
	$(BIN)/mutmut export-cicd-stats
	@$(BIN)/mutmut results
	@$(BIN)/python -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); \
		caught, tested, survived = s["killed"] + s["timeout"], s["total"] - s["skipped"], s["survived"]; \
		print(f"mutation score: {caught} of {tested} mutants killed ({100 * caught / tested:.1f} %), {survived} survived")'

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache mutants
