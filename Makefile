# Surveillance: the README's two commands are `make run` and `make test`.
# Every install step lives here, so a fresh clone needs nothing but this file's prerequisites
# (Debian with python3, node/npm and apt access as root or through sudo).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := nginx ffmpeg chromium

.PHONY: run test install system-packages lint pytest

## ---- installation -------------------------------------------------------------------------------

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

system-packages:
	@missing=""; for cmd in $(SYSTEM_PACKAGES); do command -v $$cmd >/dev/null || missing="$$missing $$cmd"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

install: $(VENV)/.installed system-packages

## ---- run the system -----------------------------------------------------------------------------

run: install
	$(PY) train.py --config configs/synthetic.toml
	$(PY) eval.py --config configs/synthetic.toml --output runs/synthetic-eval

## ---- tests --------------------------------------------------------------------------------------

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

pytest: install
	$(PY) -m pytest

test: lint pytest
