# The two commands a newcomer needs:
#   make run   - install everything, load the demo and start web + worker + beat
#   make test  - install everything and run the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test setup deps lint check bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.installed node_modules/.installed

setup: deps
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo

run: setup
	honcho -f Procfile.dev start

test: deps
	bash scripts/test.sh

lint: deps
	ruff check .
	ruff format --check . || true

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf var staticfiles
