"""Install rendered projects into this virtualenv and run them as a user would: their own test
suite, then `make eval` offline. Covers the default answers (a single-turn agent) and the
everything-on answers (every journey, a tool-calling agent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import layout
from tests.conftest import TEMPLATE, bake, make

EVERYTHING_ON = {
    "project_name": "Everything On",
    "journey_regression": True,
    "journey_profiling": True,
    "journey_tracing": True,
    "journey_align_optimize": True,
    "journey_datasets": True,
    "agent_shape": "tool_calling",
    "scorers": "pii,length,regex,fact_coverage,refusal,tool_calls,tool_budget",
    "quality_gates": "pii=1.0,length=1.0,regex=0.9,fact_coverage=0.9,refusal=1.0,tool_calls=1.0,"
    "tool_budget=1.0",
    "ci_provider": "gitlab",
}
COMBINATIONS = {"defaults": {}, "everything-on": EVERYTHING_ON}


@pytest.fixture(scope="module", params=list(COMBINATIONS), ids=list(COMBINATIONS))
def installed(request, tmp_path_factory) -> Path:
    project = bake(tmp_path_factory.mktemp(request.param), **COMBINATIONS[request.param])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "-e",
            str(project),
            "-c",
            str(TEMPLATE / "tests" / "constraints.txt"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield project
    package = project.name
    subprocess.run(
        [sys.executable, "-m", "pip", "uninstall", "--quiet", "-y", package], capture_output=True
    )


def test_rendered_test_suite_passes(installed):
    done = make(installed, "test")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_make_eval_passes_its_gates_offline(installed):
    assert make(installed, "check-config").returncode == 0
    done = make(installed, "eval")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Quality gates" in done.stdout and "reports/gates.md" in done.stdout
    report = json.loads((installed / "reports" / "gates.json").read_text())
    assert report["passed"] is True and report["run_id"] and report["judge_model"] == "none"
    for gate in report["gates"]:
        assert gate["passed"] and gate["rows_scored"] == gate["rows_applicable"] > 0
    markdown = (installed / "reports" / "gates.md").read_text()
    assert markdown.startswith("## Quality gates: PASS")
    assert "No LLM judge is configured" in markdown
    assert (installed / "mlflow.db").is_file()


PHONE, DESKTOP = 390, 1280
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def test_reports_read_on_a_phone_and_a_desktop(installed):
    """Every HTML report the journeys write, laid out by Chromium: no sideways scrolling of the
    page at phone or desktop width (wide tables scroll in their own box), every chart decoded,
    and a viewport tag so a phone lays the page out at its own width."""
    if not (installed / "reports" / "gates.html").exists():
        make(installed, "eval")
    make(installed, "compare")  # its exit code is the verdict; the report is written either way
    assert make(installed, "profile").returncode == 0
    reports = sorted((installed / "reports").glob("*.html"))
    assert [r.name for r in reports] == ["gates.html", "profile.html", "regression.html"]
    for report in reports:
        assert VIEWPORT in report.read_text(), report.name
        for width in (PHONE, DESKTOP):
            seen = layout(report, width)
            assert seen.page_width <= seen.view_width, (report.name, width, seen)
            assert seen.image_widths and all(seen.image_widths), (report.name, width, seen)


def test_a_databricks_project_passes_its_workspace_free_tests(tmp_path):
    """The installed combinations target local; the Databricks target's bundle, UC-table dataset,
    config and datasets-journey tests (against the workspace test double, and offline) need no
    install of their own, so they run from the rendered source."""
    project = bake(
        tmp_path, project_name="Lakehouse Agent", target="databricks", journey_tracing=True
    )
    run_tests_from_source(
        project,
        "tests/test_bundle.py",
        "tests/test_dataset_table.py",
        "tests/test_config.py",
        "tests/test_datasets.py",
    )


def from_source(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`python ARGS` in a rendered project, its package imported from src/ (not installed)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
    )


def run_tests_from_source(project: Path, *tests: str) -> None:
    done = from_source(project, "-m", "pytest", "-p", "no:cacheprovider", *tests)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout and "skipped" not in done.stdout


def test_a_multi_turn_project_passes_its_conversation_tests_and_gates(tmp_path):
    """A conversational agent's project, from the rendered source: its conversation tests, its
    config tests (which run every shape's config on the single-turn sample:
    conftest.single_turn_sample), its layout, and `evaluate` of the shipped conversations."""
    project = bake(tmp_path, project_name="Chat Desk", agent_shape="multi_turn")
    run_tests_from_source(
        project, "tests/test_conversations.py", "tests/test_config.py", "tests/test_layout.py"
    )
    evaluated = from_source(project, "-m", "chat_desk", "evaluate")
    assert evaluated.returncode == 0, evaluated.stdout[-4000:] + evaluated.stderr[-2000:]
    report = json.loads((project / "reports" / "gates.json").read_text())
    assert {g["gate"]: g["rows_scored"] for g in report["gates"]} == {
        "pii": 11,
        "length": 11,
        "goal_reached": 5,
        "facts_retained": 3,
    }
