# imgqa — every target bootstraps .venv itself, so a fresh clone needs only `make run`/`make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
# The installer is built in its own environment so PyInstaller sees only what the wheel installs.
BUILD_VENV ?= .venv-build
BUILD_STAMP := $(BUILD_VENV)/.installed-installer
export QT_API := pyside6

.PHONY: run test install bench phantoms screenshots installer test-install lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Open the desktop application on the default SQLite database, with the demo phantoms.
run: $(STAMP)
	$(PY) -m imgqa.cli.main gui --demo

## Run the whole test suite (this is what CI runs).
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n auto --dist loadfile -q

## Regenerate the demo phantom set in phantoms/.
phantoms: $(STAMP)
	$(PY) -m imgqa.cli.main phantoms make phantoms

# Reference tools pin pydicom < 3, so they get their own environment (.venv-ref).
$(BENCH_STAMP): pyproject.toml benchmarks/requirements-reference.txt | $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	test -x .venv-ref/bin/python || $(PYTHON) -m venv .venv-ref
	.venv-ref/bin/python -m pip install -q -r benchmarks/requirements-reference.txt
	touch $(BENCH_STAMP)

## Speed and agreement against pydicom, pylinac and hazen on the same images.
bench: $(BENCH_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run_all.py

## Render the documentation screenshots from the real application, offscreen.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) docs/screenshots.py
	QT_QPA_PLATFORM=offscreen $(PY) docs/screenshots_automatic.py

$(BUILD_STAMP): pyproject.toml
	test -x $(BUILD_VENV)/bin/python || $(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/python -m pip install -q --upgrade pip
	$(BUILD_VENV)/bin/python -m pip install -q '.[installer]'
	touch $(BUILD_STAMP)

## Build the wheel (dist/imgqa-*.whl) and the one-folder bundle (dist/imgqa/imgqa); docs/install.md.
installer: $(BUILD_STAMP)
	$(BUILD_VENV)/bin/python installer/build.py

## The slow installation tests (wheel in a fresh venv, bundle with `env -i`); CI runs them with CI_SLOW=1.
test-install: $(STAMP)
	CI_SLOW=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests/install

## Style and complexity (ruff), layer contracts (import-linter), types of the non-GUI packages
## (mypy, configured in pyproject.toml). `make test` runs the contracts and mypy as tests too.
lint: $(STAMP)
	$(PY) -m pip install -q ruff
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .venv-ref $(BUILD_VENV) build dist *.egg-info src/*.egg-info .pytest_cache
