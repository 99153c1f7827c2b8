# Flashlearn: `make run` serves, `make test` tests. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench migrate install clean superuser demo

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else \
		f"Python 3.11 is required, {sys.executable} is {v[0]}.{v[1]}: make PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)

# The stamp is rebuilt whenever a requirements file changes.
$(VENV)/.installed: $(VENV)/bin/python requirements.txt requirements-speech.txt
	$(PIP) install -q -r requirements.txt
	# RealtimeSTT declares torch, torchaudio and PyAudio as hard requirements, but with
	# use_microphone=False it needs neither torchaudio nor PyAudio, and torchaudio would pull
	# a multi-GB CUDA torch. So: its real dependencies first, then RealtimeSTT without deps.
	$(PIP) install -q -r requirements-speech.txt
	$(PIP) install -q --no-deps RealtimeSTT==1.1.2
	touch $@

install: $(VENV)/.installed

# First run: a git-ignored .env for local development (DEBUG=true, a random SECRET_KEY, mode 600).
# manage.py and the ASGI app read it; variables set in the environment win. Never overwritten:
# delete it to get a new one. Production sets real environment variables instead.
.env:
	@$(PYTHON) -c 'import os, secrets; fd = os.open(".env", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600); \
		os.write(fd, ("# Local development settings, written by make on first run (git-ignored).\n" \
		"# Variables set in the environment win over these.\nDEBUG=true\n" \
		f"SECRET_KEY={secrets.token_urlsafe(50)}\n").encode())'
	@echo "wrote .env: DEBUG=true and a random SECRET_KEY for local development"

# SCHEMA_MODE: schema commands connect through DIRECT_DATABASE_URL when it is set (docs/operations.md).
migrate: install .env
	SCHEMA_MODE=true $(PY) manage.py migrate --noinput

# The admin's first account (asks for email and password; DJANGO_SUPERUSER_EMAIL and
# DJANGO_SUPERUSER_PASSWORD with `make superuser ARGS=--noinput` for scripts).
superuser: migrate
	$(PY) manage.py createsuperuser $(ARGS)

# Demo data: 200 creators with posts and their analysis, and a demo user with credits.
demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py analyze_creators

run: migrate
	$(PY) manage.py collectstatic --noinput -v 0
	HOST=$(HOST) PORT=$(PORT) $(PY) manage.py serve --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff; the app boundaries (.importlinter); types of services, selectors and public modules (pyproject.toml)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	SCHEMA_MODE=true $(PY) manage.py makemigrations --check --dry-run

bench: migrate
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
