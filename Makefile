# heatmeter — set-up and everyday commands.
#   make run      install into .venv (first time) and start the desktop app
#   make test     install into .venv with the test tools and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint package clean system-deps

$(VENV)/.installed: pyproject.toml
	@sh packaging/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

system-deps:
	@sh packaging/system-deps.sh

run: $(VENV)/.installed
	$(BIN)/heatmeter-gui $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/lint-imports

test: $(VENV)/.installed
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

package: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,package]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/heatmeter.spec

clean:
	rm -rf $(VENV) build dist *.egg-info
