# Quick start: `make run` (demo on SQLite) and `make test` (the whole suite).
# Every target bootstraps .venv first with a Python >= 3.12 (scripts/find-python).

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
PYCHECK := import sys; assert sys.version_info >= (3, 12)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: venv run test lint bench serve migrate clean-venv

venv:
	@if ! $(PY) -c '$(PYCHECK)' >/dev/null 2>&1; then \
		python=$$(scripts/find-python) || exit 1; \
		echo "Creating $(VENV) with $$python"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV) || exit 1; \
	fi
	@$(MAKE) --no-print-directory $(STAMP)

# Reinstall only when a requirements file changed since the last install.
# pip prints a line per package (and a progress bar in a terminal): a first install
# takes a few minutes and should not look stuck.
$(STAMP): requirements.txt requirements-dev.txt
	@echo "==> Installing the Python packages of requirements-dev.txt into $(VENV)" \
		"(the first time takes a few minutes)"
	@$(PY) -m pip install --disable-pip-version-check -r requirements-dev.txt
	@echo "==> Python packages installed"
	@touch $@

migrate: venv
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput

# Demo on SQLite (or DATABASE_URL): migrate, load the demo data, start a task worker in
# the background and the development server in the foreground (the worker stops with
# it); the login, URLs and API key are printed last, in a box (scripts/run-demo).
run: venv
	@PY=$(PY) HOST=$(HOST) PORT=$(PORT) scripts/run-demo

test: venv
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "NOTE: /usr/bin/chromium not found: browser tests (e2e) will be skipped." \
			"Install it with: apt-get install -y chromium"; \
	fi
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

bench: venv
	@for script in bench/*.py; do \
		[ -e "$$script" ] || { echo "No benchmarks in bench/."; break; }; \
		echo "== $$script"; DJANGO_DEBUG=1 $(PY) "$$script" || exit 1; \
	done

# Production-like serving: gunicorn + whitenoise, DJANGO_DEBUG=0. Set DJANGO_SECRET_KEY
# and DJANGO_ALLOWED_HOSTS; DJANGO_SECURE_SSL_REDIRECT=0 when no TLS proxy is in front.
serve: venv
	DJANGO_DEBUG=0 $(PY) manage.py collectstatic --noinput -v 0
	DJANGO_DEBUG=0 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=0 $(VENV)/bin/gunicorn -c gunicorn.conf.py kycregistry.wsgi:application

clean-venv:
	rm -rf $(VENV)
