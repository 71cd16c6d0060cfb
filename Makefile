# The two commands in the README: `make run` and `make test`. Both start from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test check bench clean

setup: $(VENV)/.installed

# setup.py and the C sources: the extension is built by the install (in place, in src/).
$(VENV)/.installed: pyproject.toml setup.py $(wildcard src/yun/*/*.c)
	scripts/setup
	@touch $@

run: setup
	$(BIN)/yun up --demo

test: setup
	scripts/test

check: setup
	scripts/check

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .yun .pytest_cache .mypy_cache .ruff_cache
