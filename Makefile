# `make demo` renders the default project and runs its offline evaluation; `make test` runs the
# template's tests; `make lint` runs ruff on the hooks and tests (tests/test_render.py lints every
# rendered project). All use one virtualenv, made on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO := build/demo

.PHONY: demo test lint clean

$(VENV)/.installed: tests/requirements.txt tests/constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/requirements.txt -c tests/constraints.txt
	touch $@

demo: $(VENV)/.installed
	rm -rf $(DEMO)
	$(VENV)/bin/cookiecutter --no-input . --output-dir $(DEMO)
	$(MAKE) -C $(DEMO)/support-agent-eval install eval PYTHON=$(abspath $(PY)) PIP_CONSTRAINT=$(abspath tests/constraints.txt)

test: $(VENV)/.installed
	$(PY) -m pytest tests

lint: $(VENV)/.installed
	$(PY) -m ruff check hooks local_extensions tests
	$(PY) -m ruff format --check hooks local_extensions tests

clean:
	rm -rf $(VENV) build
