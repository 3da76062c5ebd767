# waihu — two commands do everything on a fresh Debian 12 machine:
#   make demo   set up and run the demo campaign
#   make test   set up and run every check and test
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pocketsphinx-testdata: real English speech with transcripts for the ASR tests;
# sip-tester (sipp), baresip-core and linphone-cli (linphonec): real SIP peers the telephony tests run on loopback.
# kamailio: the registrar/proxy (digest auth) the trunk tests start to prove workers use a real trunk.
# postgresql: the server the storage tests start to prove PostgreSQL works.
# chromium + fonts-wqy-microhei: the headless browser the console tests drive, and Chinese glyphs.
SYSTEM_PACKAGES := pocketsphinx-testdata sip-tester baresip-core linphone-cli kamailio postgresql chromium fonts-wqy-microhei
# Converted models and caches live here (a fresh clone converts them once, offline, from packages).
export WAIHU_DATA_DIR ?= $(CURDIR)/var

.PHONY: setup demo test test-fast lint format clean

$(STAMP): pyproject.toml scripts/install-system-deps.sh Makefile
	scripts/install-system-deps.sh $(SYSTEM_PACKAGES)
	@[ -x $(BIN)/python ] || $$(scripts/find-python.sh) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@# silero-vad hard-depends on torch for code we do not use; only its ONNX weights are needed.
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps silero-vad==6.2.3
	@touch $(STAMP)

setup: $(STAMP)
	$(BIN)/waihu models prepare

demo: setup
	$(BIN)/waihu demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/waihu flow validate flows/*.yaml
	$(BIN)/python -m pytest -q

# The fast tier: fakes and pure logic, no models, SIP peers, databases servers or browsers (target
# < 60 s; 38 s on 2 cores, see BENCHMARKS.md), one process per core.
test-fast: setup
	$(BIN)/python -m pytest -q -m unit -n auto

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
