# heatmeter — set-up and everyday commands.
#   make run      install into .venv (first time) and start the desktop app
#   make test     install into .venv with the test tools and run the whole suite
#   make package  build the one-folder app (PyInstaller) into dist/heatmeter/
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?= -n 2
PACKAGE_DIST ?= dist
PACKAGE_WORK ?= build/pyinstaller

.PHONY: run test lint package clean system-deps

$(VENV)/.installed: pyproject.toml
	@sh packaging/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@sh packaging/system-deps.sh --qt $(VENV)
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

# One-folder app in $(PACKAGE_DIST)/heatmeter/: heatmeter-gui, heatmeter, the desktop entry and icon.
package: $(VENV)/.installed
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath $(PACKAGE_DIST) \
		--workpath $(PACKAGE_WORK) packaging/heatmeter.spec
	cp packaging/heatmeter.desktop packaging/heatmeter.png $(PACKAGE_DIST)/heatmeter/

clean:
	rm -rf $(VENV) build dist *.egg-info
