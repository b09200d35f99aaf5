# The two quick-start commands: `make serve` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test bench clean console chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs the package with its engine (llama-cpp-python compiles llama.cpp the first time: minutes).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# The web console (console/) is built into the package, which serves it at `/`; rebuilt when its sources change.
CONSOLE_SOURCES := $(shell find console/src -type f) $(addprefix console/,index.html package.json vite.config.ts tsconfig.json)
CONSOLE_BUILT := src/openmaas/web/index.html
NODE_MODULES := console/node_modules/.package-lock.json

$(NODE_MODULES): console/package-lock.json
	cd console && npm ci --no-audit --no-fund

$(CONSOLE_BUILT): $(CONSOLE_SOURCES) $(NODE_MODULES)
	cd console && npm run build

console: $(CONSOLE_BUILT)

# The console's end-to-end tests drive Debian's chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)

bench: | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/serving.py

serve: $(VENV)/.installed $(CONSOLE_BUILT)
	$(BIN)/openmaas serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test $(CONSOLE_BUILT) chromium
	cd console && npm test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build src/*.egg-info src/openmaas/web console/node_modules
