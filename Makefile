# `make demo` renders the default project and runs its offline evaluation (SHAPE=tool_calling:
# the tool-calling agent, and the tool-call regression `compare` finds; SHAPE=multi_turn: the
# conversational agent, and the conversations `compare` finds forgetting); `make test` runs the
# template's tests; `make lint` runs ruff on the hooks and tests (tests/test_render.py lints every
# rendered project). All use one virtualenv, made on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO ?= build/demo
DEMO_PROJECT := $(DEMO)/support-agent-eval
# The demo project's command line, from its folder (its .venv, as its README runs it).
DEMO_CLI := cd $(DEMO_PROJECT) && .venv/bin/python -m support_agent_eval
# The demo project's own commit identity: a fresh machine may have none configured.
DEMO_GIT := git -C $(DEMO_PROJECT) -c user.name="make demo" -c user.email=demo@localhost \
	-c commit.gpgsign=false

.PHONY: demo demo-folder-is-free test lint clean

$(VENV)/.installed: tests/requirements.txt tests/constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/requirements.txt -c tests/constraints.txt
	touch $@

# The demo project is a git repo whose first commit is the render, as the README advises for a
# team's repo; the project's own .gitignore covers what `make install` and `make eval` add. A
# later `make demo` replaces the folder only when it holds that commit alone and `git status` is
# clean, so someone's edits in it are never deleted.
demo: demo-folder-is-free $(VENV)/.installed
	@rm -rf $(DEMO_PROJECT)
	@$(VENV)/bin/cookiecutter --no-input . --output-dir $(DEMO) $(if $(SHAPE),agent_shape=$(SHAPE))
	@$(DEMO_GIT) init --quiet --initial-branch main
	@$(DEMO_GIT) add --all
	@$(DEMO_GIT) commit --quiet --no-verify --message "Render the template (make demo)"
	@echo "Rendered $(DEMO_PROJECT) (the default answers). Installing it into its own .venv"
	@echo "with 'make install' (MLflow and the test tools: a few minutes the first time)..."
	@PIP_QUIET=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONSTRAINT=$(abspath tests/constraints.txt) \
		$(MAKE) --silent --no-print-directory -C $(DEMO_PROJECT) install
	@echo "Running 'make eval' there: the offline evaluation and its quality gates."
	@$(MAKE) --silent --no-print-directory -C $(DEMO_PROJECT) eval
	@if [ "$(SHAPE)" != multi_turn ]; then \
	  echo; echo "The datasets loop: the traces whose 'concise' verdict failed become an MLflow" \
	    "evaluation dataset, which 'dataset expand' grows with edge cases; then 'evaluate' runs on it."; \
	  ($(DEMO_CLI) dataset from-traces --run evaluation --failed concise) && \
	  ($(DEMO_CLI) dataset expand) || exit $$?; \
	  ($(DEMO_CLI) evaluate --dataset mlflow:eval_dataset --run-name grown); status=$$?; \
	  if [ $$status = 1 ]; then echo "The edge cases fail gates that the shipped records pass:" \
	    "$(DEMO_PROJECT)/reports/gates.md lists the failing rows."; \
	  elif [ $$status != 0 ]; then exit $$status; fi; \
	fi
	@if [ "$(SHAPE)" = tool_calling ]; then \
	  echo; echo "The tool-calling agent: 'compare' evaluates the candidate prompt, whose" \
	    "'Order lookup: off' line stops the lookup_order tool."; \
	  ($(DEMO_CLI) compare > /dev/null); status=$$?; \
	  grep "^#### .tool_calls. regressed" $(DEMO_PROJECT)/reports/regression.md; \
	  if [ $$status = 1 ]; then echo "The tool-call regression fails the comparison:" \
	    "$(DEMO_PROJECT)/reports/regression.md has every regressed input."; \
	  else exit $$status; fi; \
	fi
	@if [ "$(SHAPE)" = multi_turn ]; then \
	  echo; echo "The conversational agent: 'compare' evaluates the candidate prompt, whose" \
	    "'Conversation memory: off' line makes it forget the order a conversation named."; \
	  ($(DEMO_CLI) compare > /dev/null); status=$$?; \
	  grep "^#### .facts_retained. regressed" $(DEMO_PROJECT)/reports/regression.md; \
	  if [ $$status = 1 ]; then echo "The conversations that forgot fail the comparison:" \
	    "$(DEMO_PROJECT)/reports/regression.md has each one, paired by its record."; \
	  else exit $$status; fi; \
	fi
	@echo
	@echo "The demo project is $(DEMO_PROJECT). Its README.md's commands work there as printed:"
	@echo "  cd $(DEMO_PROJECT) && make eval"

demo-folder-is-free:
	@if [ ! -e $(DEMO_PROJECT) ]; then exit 0; fi; \
	if [ ! -d $(DEMO_PROJECT)/.git ]; then \
	  why="exists and was not made by make demo (it has no .git), so it may hold work"; \
	elif [ -n "$$(git -C $(DEMO_PROJECT) status --porcelain 2>&1)" ]; then \
	  why="holds changes (git -C $(DEMO_PROJECT) status lists them)"; \
	elif [ "$$(git -C $(DEMO_PROJECT) rev-list --count HEAD 2>&1)" != 1 ]; then \
	  why="holds commits made after the render (git -C $(DEMO_PROJECT) log lists them)"; \
	else exit 0; fi; \
	echo "make demo: $(DEMO_PROJECT) $$why. Keep it elsewhere or delete it" \
	  "(rm -rf $(DEMO_PROJECT)), then run make demo again." >&2; \
	exit 1

test: $(VENV)/.installed
	$(PY) -m pytest tests

lint: $(VENV)/.installed
	$(PY) -m ruff check hooks local_extensions tests
	$(PY) -m ruff format --check hooks local_extensions tests

clean:
	rm -rf $(VENV) build
