"""Render a generated matrix of option combinations and check every tree: exact files, no
leftover template syntax, Python that compiles and passes ruff, TOML and YAML that parse."""

from __future__ import annotations

import itertools
import json
import os
import py_compile
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEFAULTS, TEMPLATE, bake, cookiecutter_cli

DEFAULT_ANSWERS = {k: v for k, v in DEFAULTS.items() if k.startswith("journey_")}

JOURNEYS = (
    "journey_regression",
    "journey_profiling",
    "journey_tracing",
    "journey_align_optimize",
    "journey_datasets",
)
# Journey patterns cycled through the matrix: all on, all off, and each one alone, so every
# journey is rendered both on and off.
JOURNEY_PATTERNS = [dict.fromkeys(JOURNEYS, True), dict.fromkeys(JOURNEYS, False)] + [
    {j: j == only for j in JOURNEYS} for only in JOURNEYS
]
JUDGES = {"none": "none", "databricks": "databricks", "uri": "openai:/gpt-4.1-mini"}


def combination(target: str, judge: str, ci: str, index: int) -> dict:
    answers = {"target": target, "judge_model": JUDGES[judge], "ci_provider": ci}
    answers.update(JOURNEY_PATTERNS[index % len(JOURNEY_PATTERNS)])
    answers["agent_shape"] = ("single_turn", "tool_calling", "multi_turn")[index % 3]
    if answers["agent_shape"] == "multi_turn":  # conversation checks for one-answer ones
        if judge == "none":
            answers["scorers"] = "pii,length,regex,goal_reached,facts_retained"
            answers["quality_gates"] = "pii=1.0,length=1.0,goal_reached=1.0,facts_retained=1.0"
        else:
            answers["scorers"] = "safety,conversational_guidelines,knowledge_retention,pii"
            answers["quality_gates"] = "safety=1.0,conversational_guidelines=0.85,pii=1.0"
    elif judge == "none":  # deterministic scorers only
        answers["scorers"] = "pii,length,regex,fact_coverage,refusal"
        answers["quality_gates"] = "pii=1.0,length=1.0,fact_coverage=0.9,refusal=1.0"
    else:
        answers["scorers"] = "safety,guidelines,correctness,pii,fact_coverage,refusal"
        answers["quality_gates"] = "safety=1.0,correctness=0.9,helpful=0.85,pii=1.0"
    return answers


MATRIX = [
    combination(target, judge, ci, i)
    for i, (target, judge, ci) in enumerate(
        itertools.product(("local", "databricks"), JUDGES, ("github", "gitlab", "none"))
    )
]


def combination_id(answers: dict) -> str:
    on = "+".join(j.removeprefix("journey_") for j in JOURNEYS if answers[j]) or "no-journeys"
    judge = next(k for k, v in JUDGES.items() if v == answers["judge_model"])
    shape = answers["agent_shape"]
    return f"target:{answers['target']}-judge:{judge}-ci:{answers['ci_provider']}-{shape}-{on}"


# Double braces may remain only as MLflow template variables (prompt and judge instructions)
# and GitHub Actions expressions (${{ ... }}).
LEFTOVER = re.compile(
    r"(?<!\$)\{\{(?!\s*(inputs|outputs|expectations|conversation|trace|query|context)\s*\}\})"
)
PACKAGE = "src/support_agent_eval"
BASE_FILES = {
    ".env.example",
    ".gitignore",
    "AGENTS.md",
    "Makefile",
    "README.md",
    "evaluation.yaml",
    "pyproject.toml",
    "data/eval_dataset.jsonl",
    *(
        f"{PACKAGE}/{name}"
        for name in (
            "__init__.py",
            "__main__.py",
            "cli.py",
            "command_parts.py",
            "config/__init__.py",
            "config/agent_shape.py",
            "config/checker.py",
            "config/core.py",
            "config/dataset.py",
            "config/ensemble.py",
            "config/loader.py",
            "config/model.py",
            "config/names.py",
            "config/problems.py",
            "credentials.py",
            "dataset.py",
            "dataset_record.py",
            "dataset_store.py",
            "project.py",
            "dataset_table.py",
            "reporting.py",
            "runs.py",
            "runtime.py",
            "scorer_catalog.py",
            "ui_links.py",
            "vocabulary.json",
            "vocabulary.py",
            "llm_endpoints.py",
            "agent/__init__.py",
            "agent/conversation.py",
            "agent/knowledge_base.json",
            "agent/knowledge_base.py",
            "agent/orders.json",
            "agent/orders.py",
            "agent/prompts.py",
            "agent/support_agent.py",
            "agent/system_prompt.txt",
            "evaluation/__init__.py",
            "evaluation/agent_loader.py",
            "evaluation/code_scorers.py",
            "evaluation/commands.py",
            "evaluation/concurrency.py",
            "evaluation/conversation_counts.py",
            "evaluation/conversations.py",
            "evaluation/ensembles.py",
            "evaluation/judge_calls.py",
            "evaluation/judge_cache.py",
            "evaluation/preflight.py",
            "evaluation/progress.py",
            "evaluation/trace_writes.py",
            "evaluation/quality_gates.py",
            "evaluation/report.py",
            "evaluation/run.py",
            "evaluation/scorers.py",
            "evaluation/score_columns.py",
            "evaluation/score_table.py",
            "evaluation/session_checks.py",
            "evaluation/session_scorers.py",
            "evaluation/tool_checks.py",
        )
    ),
    *(
        f"tests/{name}"
        for name in (
            "conftest.py",
            "test_agent.py",
            "test_code_scorers.py",
            "test_config.py",
            "test_conversations.py",
            "test_dataset_table.py",
            "test_ensembles.py",
            "databricks_test_double.py",
            "loopback.py",
            "test_evaluate.py",
            "test_judge_cache.py",
            "llm_test_double.py",
            "test_llm_endpoints.py",
            "test_llm_workload.py",
            "test_trace_writes.py",
            "test_score_table.py",
            "test_layout.py",
            "test_quality_gates.py",
            "test_reporting.py",
            "test_runs.py",
            "test_runtime.py",
            "test_tool_calling.py",
            "test_tool_checks.py",
            "test_ui_links.py",
        )
    ),
    "benchmarks/judge_cache_benchmark.py",
    "benchmarks/llm_workload_benchmark.py",
    "benchmarks/throughput_benchmark.py",
    "benchmarks/scratch_project.py",
    "benchmarks/store_cpu.py",
    "benchmarks/cpu_split.py",
}


# Files each journey adds when it is on.
JOURNEY_FILES = {
    "journey_regression": {
        *(
            f"{PACKAGE}/regression/{name}"
            for name in (
                "__init__.py",
                "changes.py",
                "commands.py",
                "pairing.py",
                "report.py",
                "run.py",
                "significance.py",
                "verdict.py",
            )
        ),
        f"{PACKAGE}/agent/candidate_prompt.txt",
        f"{PACKAGE}/config/regression.py",
        "tests/test_regression.py",
        "benchmarks/compare_benchmark.py",
    },
    "journey_profiling": {
        *(
            f"{PACKAGE}/profiling/{name}"
            for name in (
                "__init__.py",
                "budgets.py",
                "commands.py",
                "context_bloat.py",
                "report.py",
                "report_tables.py",
                "run.py",
                "span_stats.py",
                "turn_stats.py",
            )
        ),
        f"{PACKAGE}/config/profiling.py",
        "tests/test_profiling.py",
        "benchmarks/profile_benchmark.py",
    },
    "journey_tracing": {
        *(
            f"{PACKAGE}/tracing/{name}"
            for name in (
                "__init__.py",
                "app.py",
                "commands.py",
                "custom_scorers.py",
                "grants.py",
                "monitor_scorers.py",
                "monitoring.py",
                "plan.py",
                "setup.py",
            )
        ),
        f"{PACKAGE}/config/tracing.py",
        "tests/test_tracing.py",
    },
    "journey_align_optimize": {
        *(
            f"{PACKAGE}/align/{name}"
            for name in (
                "__init__.py",
                "agreement.py",
                "alignment.py",
                "commands.py",
                "holdout.py",
                "judge.py",
                "label_store.py",
                "label_sheet.py",
                "optimization.py",
                "promotion.py",
                "readiness.py",
                "report.py",
            )
        ),
        f"{PACKAGE}/config/align.py",
        "data/optimization_dataset.jsonl",
        "tests/openai_test_double.py",
        "tests/test_align_cycle.py",
        "tests/test_align_optimize.py",
    },
    "journey_datasets": {
        *(
            f"{PACKAGE}/datasets/{name}"
            for name in (
                "__init__.py",
                "changes.py",
                "commands.py",
                "conversation_records.py",
                "expand.py",
                "from_traces.py",
                "model_variants.py",
            )
        ),
        f"{PACKAGE}/config/datasets.py",
        "tests/test_dataset_changes.py",
        "tests/test_dataset_expand.py",
        "tests/test_datasets.py",
    },
}


def expected_files(answers: dict) -> set[str]:
    files = set(BASE_FILES)
    for journey, added in JOURNEY_FILES.items():
        if answers.get(journey, DEFAULT_ANSWERS[journey]):
            files |= added
    if answers.get("target", "local") == "databricks":  # the Databricks Asset Bundle
        files |= {"databricks.yml", "resources/evaluation_gates.job.yml", "tests/test_bundle.py"}
        if answers.get("journey_tracing", DEFAULT_ANSWERS["journey_tracing"]):
            files.add("resources/monitoring_setup.job.yml")
    if answers.get("agent_shape") == "multi_turn":
        files.add("data/conversations.jsonl")
    if answers["ci_provider"] == "github":
        files.add(".github/workflows/evaluate.yml")
    if answers["ci_provider"] == "gitlab":
        files.add(".gitlab-ci.yml")
    return files


def tree(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


def check_tree(project: Path, answers: dict) -> None:
    assert tree(project) == expected_files(answers)
    assert not [p for p in project.rglob("*") if p.is_dir() and not any(p.iterdir())]
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        assert "{%" not in text and "{#" not in text, f"template syntax left in {path}"
        assert not LEFTOVER.search(text), f"template syntax left in {path}"
        if path.suffix == ".py":
            py_compile.compile(str(path), doraise=True, cfile=str(project / ".compiled.pyc"))
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            yaml.safe_load(text)
        elif path.suffix == ".jsonl":
            assert text.strip()
    (project / ".compiled.pyc").unlink(missing_ok=True)
    check_lint(project)


def check_lint(project: Path) -> None:
    """What the rendered repo's `make lint` runs, with the rules in its pyproject.toml."""
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        ruff = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


@pytest.mark.parametrize("answers", MATRIX, ids=combination_id)
def test_combination_renders_a_clean_tree(tmp_path, answers):
    project = bake(tmp_path, **answers)
    check_tree(project, answers)
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["target"] == answers["target"]
    assert config["judge"]["model"] == answers["judge_model"]
    assert config["journeys"] == {j.removeprefix("journey_"): answers[j] for j in JOURNEYS}
    dependency = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"][
        0
    ]
    assert dependency.startswith(
        "mlflow[databricks]" if answers["target"] == "databricks" else "mlflow>="
    )


def test_a_long_package_name_renders_lint_clean(tmp_path):
    """The template's source lines hold `{{ cookiecutter.package_name }}` (31 characters) within
    100, so any package name up to that length keeps `make lint` clean, and a shorter one does
    not make ruff format want to join lines."""
    name = "returns_desk_agent_evaluation_x"
    assert len(name) == len("{{ cookiecutter.package_name }}")
    answers = dict.fromkeys(JOURNEYS, True)
    check_lint(bake(tmp_path, package_name=name, target="databricks", **answers))


def test_defaults_render_a_clean_tree(tmp_path):
    project = bake(tmp_path)
    check_tree(project, {"ci_provider": "github"})
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["judge"]["model"] == "none"
    assert config["quality_gates"] == {
        "pii": 1.0,
        "length": 1.0,
        "fact_coverage": 0.9,
        "refusal": 1.0,
    }


def test_the_tool_calling_shape_adds_its_checks_dataset_and_candidate(tmp_path):
    """agent_shape tool_calling: the tool scorers gated by default, every record naming the
    tool calls it needs (orders among them), and a candidate prompt that turns the order lookup
    off, so `compare` shows a tool-call regression; single_turn renders none of it."""
    import json

    tools = bake(tmp_path / "tools", agent_shape="tool_calling")
    config = yaml.safe_load((tools / "evaluation.yaml").read_text())
    assert config["agent"]["shape"] == "tool_calling"
    assert config["scorers"]["tool_calls"] == {}
    assert config["scorers"]["tool_budget"] == {"max_calls": 2}
    assert config["quality_gates"]["tool_calls"] == config["quality_gates"]["tool_budget"] == 1.0
    assert config["regression"]["max_regressed_rows"]["tool_calls"] == 0
    lines = (tools / "data" / "eval_dataset.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert all("expected_tool_calls" in r["expectations"] for r in rows)
    assert {"name": "lookup_order", "arguments": {"order_id": "A1001"}} in [
        call for r in rows for call in r["expectations"]["expected_tool_calls"]
    ]
    candidate = tools / PACKAGE / "agent" / "candidate_prompt.txt"
    assert "\nOrder lookup: off\n" in candidate.read_text()

    single = bake(tmp_path / "single")
    config = yaml.safe_load((single / "evaluation.yaml").read_text())
    assert config["agent"]["shape"] == "single_turn" and "tool_calls" not in config["scorers"]
    assert "expected_tool_calls" not in (single / "data" / "eval_dataset.jsonl").read_text()
    assert "Order lookup" not in (single / PACKAGE / "agent" / "candidate_prompt.txt").read_text()


def test_the_multi_turn_shape_renders_conversations_and_their_checks(tmp_path):
    """agent_shape multi_turn: the conversation agent and dataset, the conversation checks
    gated in place of the scorers that need one answer's expectations (the template's own
    defaults), the scripted user (no simulator model), and a candidate prompt that forgets."""
    import json

    talks = bake(tmp_path / "talks", agent_shape="multi_turn")
    config = yaml.safe_load((talks / "evaluation.yaml").read_text())
    assert config["agent"]["shape"] == "multi_turn"
    assert config["agent"]["callable"] == "support_agent_eval.agent.conversation:chat"
    assert config["agent"]["conversation"] == {"simulator_model": "none", "max_turns": 6}
    assert config["dataset"]["path"] == "data/conversations.jsonl"
    assert list(config["scorers"])[:4] == ["pii", "length", "goal_reached", "facts_retained"]
    assert "fact_coverage" not in config["scorers"] and "refusal" not in config["scorers"]
    assert config["quality_gates"]["goal_reached"] == config["quality_gates"]["facts_retained"]
    assert config["regression"]["max_regressed_rows"]["facts_retained"] == 0
    rows = [json.loads(line) for line in (talks / "data" / "conversations.jsonl").open()]
    assert len(rows) == 5 and all(r["inputs"]["goal"] and r["inputs"]["turns"] for r in rows)
    assert all(r["expectations"]["goal_markers"] for r in rows)
    candidate = talks / PACKAGE / "agent" / "candidate_prompt.txt"
    assert "\nConversation memory: off\n" in candidate.read_text()
    assert not (bake(tmp_path / "single") / "data" / "conversations.jsonl").exists()


def test_databricks_proposes_the_seed_gates(tmp_path):
    config = yaml.safe_load((bake(tmp_path, target="databricks") / "evaluation.yaml").read_text())
    assert config["quality_gates"] == {"safety": 1.0, "correctness": 0.9, "helpful": 0.85}
    assert config["judge"]["model"] == "databricks"
    assert config["mlflow"] == {
        "tracking_uri": "databricks",
        "experiment": "/Shared/support-agent-eval-evaluation",
    }
    assert config["scorers"]["helpful"] == {
        "type": "guidelines",
        "guidelines": "Must directly address the user's question",
    }
    assert config["agent"]["prompt"]["name"] == "main.support_agent_eval.support_agent_system"


def test_gates_given_as_a_mapping_in_a_config_file(tmp_path):
    config_file = tmp_path / "team.yaml"
    config_file.write_text(
        yaml.safe_dump({"default_context": {"quality_gates": {"pii": 1, "refusal": 0.95}}})
    )
    from cookiecutter.main import cookiecutter

    from tests.conftest import TEMPLATE

    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            config_file=str(config_file),
            output_dir=str(tmp_path / "out"),
        )
    )
    assert yaml.safe_load((project / "evaluation.yaml").read_text())["quality_gates"] == {
        "pii": 1.0,
        "refusal": 0.95,
    }


TRICKY = 'Team "Q&A" says: it\'s a \\path\\ {{ not jinja }} # not a comment\nsecond line {% raw %}'


def test_free_text_with_quotes_backslashes_newlines_and_braces(tmp_path):
    """Typed at the prompt (not rendered by Jinja), awkward text must still render valid files."""
    from cookiecutter.generate import generate_context, generate_files

    from tests.conftest import TEMPLATE

    context = generate_context(str(TEMPLATE / "cookiecutter.json"))
    from cookiecutter.prompt import prompt_for_config

    answers = prompt_for_config(context, no_input=True)
    answers.update(
        description=TRICKY,
        guidelines_text=TRICKY,
        author=TRICKY,
        project_name='Q&A: "bot" #1',
        scorers="pii,fact_coverage,refusal,guidelines",
        judge_model="openai:/gpt-4.1-mini",
        quality_gates="pii=1.0,helpful=0.5",
    )
    project = Path(
        generate_files(
            repo_dir=str(TEMPLATE), context={"cookiecutter": answers}, output_dir=str(tmp_path)
        )
    )
    pyproject = (project / "pyproject.toml").read_text()
    meta = tomllib.loads(pyproject)["project"]
    assert meta["description"] == TRICKY and meta["authors"] == [{"name": TRICKY}]
    assert "it's" in pyproject and "Q&A" in pyproject  # readable: no \u0027 or \u0026
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["scorers"]["helpful"]["guidelines"] == TRICKY
    for path in project.rglob("*.py"):
        py_compile.compile(str(path), doraise=True, cfile=str(tmp_path / "x.pyc"))


def test_rendering_is_deterministic(tmp_path):
    first, second = bake(tmp_path / "a"), bake(tmp_path / "b")
    files = sorted(tree(first))
    assert files == sorted(tree(second))
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.parametrize(
    "value", ["pii=1.0, refusal=0.95", '{"pii": 1.0, "refusal": 0.95}'], ids=["pairs", "json"]
)
def test_gates_on_the_command_line(tmp_path, value):
    """`cookiecutter --no-input <template> quality_gates=...` as pairs or as a JSON object."""
    from tests.conftest import TEMPLATE

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(TEMPLATE),
            f"quality_gates={value}",
            "target=local",
            "journey_tracing=yes",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((tmp_path / "support-agent-eval" / "evaluation.yaml").read_text())
    assert config["quality_gates"] == {"pii": 1.0, "refusal": 0.95}
    assert config["journeys"]["tracing"] is True


# Text as people write it: quotes, an ampersand, angle brackets, other scripts, a judge's
# {{ outputs }} and a stray {%. Given on the command line or in a config file, cookiecutter
# renders it as Jinja; it must come out as written, and readable in evaluation.yaml.
GUIDELINE = "Cite the shop's policy & say <why>, « en français » to {{ outputs }} {% always"
GUIDELINE_ANSWERS = {
    "scorers": "pii,guidelines",
    "judge_model": "openai:/gpt-4.1-mini",
    "quality_gates": "pii=1.0,helpful=0.5",
}


@pytest.mark.parametrize("given", ["command-line", "config-file"])
def test_free_text_with_jinja_markers_is_kept_as_written_and_readable(tmp_path, given):
    if given == "command-line":
        answers = [f"{key}={value}" for key, value in GUIDELINE_ANSWERS.items()]
        done = cookiecutter_cli(tmp_path, f"guidelines_text={GUIDELINE}", *answers)
    else:
        config = {"default_context": {"guidelines_text": GUIDELINE, **GUIDELINE_ANSWERS}}
        (tmp_path / "team.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        done = cookiecutter_cli(tmp_path, "--config-file", "team.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "support-agent-eval" / "evaluation.yaml").read_text(encoding="utf-8")
    assert f'    guidelines: "{GUIDELINE}"\n' in text  # no \u0027 for the quote, no \u0026
    assert "\\u00" not in text
    assert yaml.safe_load(text)["scorers"]["helpful"]["guidelines"] == GUIDELINE


def test_make_before_make_install_says_what_to_do(tmp_path):
    """The README's commands need `make install` first; without it, say so (not Error 127)."""
    project = bake(tmp_path)
    env = {key: value for key, value in os.environ.items() if key != "PYTHON"}
    done = subprocess.run(
        ["make", "--no-print-directory", "eval"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert ".venv/bin/python not found: run `make install` first" in done.stderr, done.stderr
    assert "Error 127" not in done.stderr


# `make demo`, run from the template's Makefile as a new user runs it, with two stand-ins: this
# virtualenv as the template's tool venv, and a python3 whose `-m venv DIR` makes a DIR/bin/python
# that runs this Python, so the demo's `make install` installs into this virtualenv (as
# tests/test_rendered_projects.py does) instead of downloading MLflow again.
class Demo:
    """`make demo` into `folder`, and `make` in the rendered project, with the stand-ins."""

    def __init__(self, tmp_path: Path):
        self.tools = tmp_path / "tools"
        self.folder = tmp_path / "demo"
        self.project = self.folder / "support-agent-eval"
        venv = self.tools / "venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "cookiecutter").symlink_to(Path(sys.executable).with_name("cookiecutter"))
        (venv / ".installed").touch()  # newer than tests/requirements.txt: up to date
        (self.tools / "venv-python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (self.tools / "python3").write_text(
            "#!/bin/sh\n"
            'if [ "$1" = -m ] && [ "$2" = venv ]; then\n'
            f'  mkdir -p "$3/bin" && cp "{self.tools}/venv-python" "$3/bin/python"; exit\n'
            "fi\n"
            f'exec "{sys.executable}" "$@"\n'
        )
        for script in ("venv-python", "python3"):
            (self.tools / script).chmod(0o755)
        self.env = {key: value for key, value in os.environ.items() if key != "PYTHON"}
        self.env["PATH"] = f"{self.tools}{os.pathsep}{self.env['PATH']}"

    def make(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess:
        folder, venv = f"DEMO={self.folder}", f"VENV={self.tools / 'venv'}"
        return self.make("demo", folder, venv, *args, cwd=TEMPLATE)


@pytest.fixture
def demo(tmp_path):
    yield Demo(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "uninstall", "--quiet", "-y", "support-agent-eval"],
        capture_output=True,
        check=False,
    )


def test_make_demo_leaves_a_project_whose_readme_commands_work(demo):
    done = demo.run()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    project = demo.project
    # Quiet: the steps, the gate table and where the project is; no pip chatter.
    assert "Quality gates" in done.stdout and f"The demo project is {project}" in done.stdout
    # The datasets loop: failing traces into a dataset, grown with edge cases, evaluated again.
    assert "merged 6 new record(s) into mlflow:eval_dataset" in done.stdout, done.stdout[-4000:]
    assert "mlflow:eval_dataset: added " in done.stdout
    grown = json.loads((project / "reports" / "gates.json").read_text())
    assert grown["rows"] > 6 and grown["passed"] is False  # the edge cases find failures
    assert "The edge cases fail gates that the shipped records pass" in done.stdout
    for chatter in ("Collecting", "Requirement already satisfied", "Successfully installed"):
        assert chatter not in output, output[-4000:]
    # Installed into the project's own .venv, so its README's commands work as printed.
    assert (project / ".venv" / "bin" / "python").is_file()
    again = demo.make("eval", cwd=project)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "Quality gates" in again.stdout
    # The render is the project's first commit; what install and eval added is ignored.
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True
    )
    assert status.returncode == 0 and status.stdout == ""

    # Someone edits the demo project: `make demo` refuses to replace it, naming the folder.
    config = project / "evaluation.yaml"
    config.write_text(config.read_text() + "# my change\n")
    refused = demo.run()
    assert refused.returncode != 0
    assert f"make demo: {project} holds changes" in refused.stderr, refused.stderr
    assert f"rm -rf {project}" in refused.stderr
    assert config.read_text().endswith("# my change\n")
    # Committed there, the change still counts.
    identity = ["-c", "user.name=Someone", "-c", "user.email=someone@example.invalid"]
    subprocess.run(["git", *identity, "commit", "-qam", "mine"], cwd=project, check=True)
    refused = demo.run()
    assert refused.returncode != 0
    assert f"make demo: {project} holds commits made after the render" in refused.stderr
    assert config.read_text().endswith("# my change\n")


def test_make_demo_of_the_tool_calling_agent_shows_a_tool_call_regression(demo):
    done = demo.run("SHAPE=tool_calling")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    config = yaml.safe_load((demo.project / "evaluation.yaml").read_text())
    assert config["agent"]["shape"] == "tool_calling"
    gates = json.loads((demo.project / "reports" / "gates.json").read_text())["gates"]
    assert {"tool_calls", "tool_budget"} <= {g["gate"] for g in gates}
    assert '#### `tool_calls` regressed: {"query": "Where is my order A1001?"}' in done.stdout
    assert "The tool-call regression fails the comparison" in done.stdout
    report = (demo.project / "reports" / "regression.md").read_text()
    assert report.startswith("## Regression check: FAIL")
    assert 'missing lookup\\_order(order\\_id="A1001")' in report


def test_make_demo_of_the_conversational_agent_shows_conversations_that_forgot(demo):
    done = demo.run("SHAPE=multi_turn")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    config = yaml.safe_load((demo.project / "evaluation.yaml").read_text())
    assert config["agent"]["shape"] == "multi_turn"
    gates = json.loads((demo.project / "reports" / "gates.json").read_text())["gates"]
    assert {"goal_reached", "facts_retained"} <= {g["gate"] for g in gates}
    assert "The datasets loop" not in done.stdout  # it builds single-request records
    regressed = "#### `facts_retained` regressed: turn 1: "
    assert f"{regressed}Hi, I'm asking about order A1001." in done.stdout
    assert "The conversations that forgot fail the comparison" in done.stdout
    report = (demo.project / "reports" / "regression.md").read_text()
    assert report.startswith("## Regression check: FAIL") and report.count(regressed) == 3
    # The one-sentence answers of two conversations no longer state every goal marker.
    assert report.count("#### `goal_reached` regressed: turn 1: ") == 2
    assert "evaluated different datasets" not in report


def test_make_demo_refuses_a_folder_it_did_not_make(demo):
    demo.project.mkdir(parents=True)
    (demo.project / "notes.md").write_text("someone's work\n")
    refused = demo.run()
    assert refused.returncode != 0
    assert f"make demo: {demo.project} exists and was not made by make demo" in refused.stderr
    assert (demo.project / "notes.md").read_text() == "someone's work\n"
