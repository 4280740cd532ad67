# onionscope: `make demo` and `make test` do all the setup on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install services services-down testnet testnet-down demo test test-unit test-integration bench clean i18n

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock bin/install-system-packages
	bin/install-system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

services: install
	$(BIN)/onionscope services up

services-down: install
	$(BIN)/onionscope services down

testnet: install
	$(BIN)/onionscope testnet up

testnet-down: install
	$(BIN)/onionscope testnet down

demo: install
	$(BIN)/onionscope demo

test: install
	$(BIN)/python -m pytest -q -ra --durations=30 tests

test-unit: install
	$(BIN)/python -m pytest -q -ra tests/unit

test-integration: install
	$(BIN)/python -m pytest -q -ra tests/integration

bench: install
	$(BIN)/python -m bench

# Adds every new UI/CLI message to config/locale/*.po (untranslated) and lists the missing ones.
i18n: install
	$(BIN)/python -m config.i18n update

clean:
	-$(BIN)/onionscope testnet down
	-$(BIN)/onionscope services down
	rm -rf var/testnet var/demo
