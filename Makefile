# isegoria: `make demo` and `make test` work on a fresh clone with only python3 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PURE   := crypto ballot delegation lobby audit

.PHONY: demo test lint typecheck pytest bench clean

# The virtualenv is rebuilt whenever pyproject.toml changes (its dependencies may have).
$(VENV)/pyvenv.cfg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/pyvenv.cfg
	$(BIN)/python -m service.demo

lint: $(VENV)/pyvenv.cfg
	$(BIN)/ruff check .

typecheck: $(VENV)/pyvenv.cfg
	$(BIN)/mypy --strict $(PURE)
	$(BIN)/mypy --strict service client

pytest: $(VENV)/pyvenv.cfg
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/pyvenv.cfg
	$(BIN)/python -m bench.all

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis *.egg-info
