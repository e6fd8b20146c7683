# Two commands: `make demo` renders the default project and runs its offline evaluation;
# `make test` runs the template's tests. Both use one virtualenv, made on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO := build/demo

.PHONY: demo test clean

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

clean:
	rm -rf $(VENV) build
