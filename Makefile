# The README's two commands: `make demo` and `make test`. Both work on a fresh machine with
# only Python 3.11 and make: they create .venv and install requirements.txt into it; `make test`
# also installs Chromium and starts PostgreSQL and Redis when they are missing (test-services).

SHELL  := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ENV    := OCOP_ROOT=$(CURDIR) && . scripts/airflow_env.sh &&

.PHONY: demo test test-services airflow bench bench-quick bench-incremental install clean lint

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

## Generate the national sample, run it through the Airflow DAGs, print the official counts.
demo: $(STAMP)
	$(ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/demo.py

## What the tests need on a bare Debian machine (root): Debian's Chromium installed when missing
## (OCOP_CHROMIUM, default /usr/bin/chromium), LibreOffice Calc when missing (OCOP_SOFFICE, default
## /usr/bin/soffice: the report test opens the reports with it), the local PostgreSQL started when it is down, and
## Redis (the Celery broker of tests/test_deploy_celery.py) started when it is down.
test-services:
	scripts/test_services.sh chromium
	scripts/test_services.sh libreoffice
	scripts/test_services.sh postgresql
	scripts/test_services.sh redis

## The whole test suite, PostgreSQL and Airflow included.
test: $(STAMP) test-services
	$(ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n 2 --dist loadgroup -q --durations=25

## The Airflow UI on the demo data: airflow standalone (admin password: see the output).
airflow: $(STAMP)
	$(ENV) PATH="$(CURDIR)/$(BIN):$$PATH" scripts/airflow_standalone.sh

bench: $(STAMP)
	$(ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py --full

bench-quick: $(STAMP)
	$(ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py --quick

## Issue 15: one Hà Nội file into 35k/250k/1M-record warehouses; fails when a target is missed.
bench-incremental: $(STAMP)
	$(ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/incremental.py --check

clean:
	rm -rf data airflow_home .pytest_cache
