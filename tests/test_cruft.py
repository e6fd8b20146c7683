"""Rendered repos under cruft, as a team lives with them: created from a template commit and
recorded in .cruft.json, edited, brought forward to a newer template commit by a three-way merge,
checked by CI; and team defaults from examples/team-defaults.yaml. Each template is a temporary
git repository holding a copy of this one (tracked and new files), so everything runs offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import cruft
import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from tests.conftest import DEFAULTS, TEMPLATE, make

TEAM_DEFAULTS = TEMPLATE / "examples" / "team-defaults.yaml"
RENDERED = "{{cookiecutter.project_slug}}"
PACKAGE = "support_agent_eval"
AGENT = f"src/{PACKAGE}/agent/support_agent.py"


@pytest.fixture(autouse=True)
def fresh_machine(monkeypatch):
    """Git as on a fresh machine: no user or system config, a fixed identity, no prompts."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Template Tests")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "tests@example.invalid")
    monkeypatch.delenv("COOKIECUTTER_CONFIG", raising=False)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--message", message)
    return git(repo, "rev-parse", "HEAD").strip()


NOT_TEMPLATE = (".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache")


def template_files() -> list[str]:
    """This template's tracked files and the new ones not ignored, as a clone would have them
    (outside a git work tree, as from an archive: every file but the .gitignore'd ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        names = listed.stdout.split("\0")
    else:
        names = [
            p.relative_to(TEMPLATE).as_posix()
            for p in TEMPLATE.rglob("*")
            if not set(p.relative_to(TEMPLATE).parts) & set(NOT_TEMPLATE)
        ]
    return [name for name in names if name and (TEMPLATE / name).is_file()]


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A git repository holding this template at its commit A."""
    repo = tmp_path / "template"
    for name in template_files():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE / name, repo / name)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    commit_all(repo, "Template A")
    return repo


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def create(template: Path, output_dir: Path, **answers) -> Path:
    return Path(
        cruft.create(str(template), output_dir=output_dir, extra_context=answers, no_input=True)
    )


def start_repo(template: Path, output_dir: Path, **answers) -> Path:
    """cruft create, then the rendered tree as the new repo's first commit (as the README says)."""
    project = create(template, output_dir, **answers)
    git(project, "init", "--quiet", "--initial-branch", "main")
    commit_all(project, "Render the template")
    return project


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def test_create_records_template_commit_and_answers(template_repo, tmp_path):
    out = tmp_path / "out"
    project = create(template_repo, out, project_name="Support Agent Eval", uc_catalog="agents")
    text = (project / ".cruft.json").read_text()
    record = json.loads(text)
    head = git(template_repo, "rev-parse", "HEAD").strip()
    assert list(record) == ["template", "commit", "checkout", "context", "directory"]
    assert (record["template"], record["commit"], record["checkout"], record["directory"]) == (
        str(template_repo),
        head,
        None,
        None,
    )
    answers = record["context"]["cookiecutter"]
    assert [key for key in answers if not key.startswith("_")] == [
        key for key in DEFAULTS if not key.startswith("_")
    ]
    assert (answers["_template"], answers["_commit"], answers["uc_catalog"]) == (
        str(template_repo),
        head,
        "agents",
    )
    # No machine paths: cookiecutter's _output_dir and _repo_dir never reach the record.
    assert str(out) not in text and "_output_dir" not in text and "_repo_dir" not in text
    assert cruft.check(project)


def test_skip_list_names_what_the_team_owns(template_repo, tmp_path):
    project = create(template_repo, tmp_path / "out")
    skip = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert skip == ["data", f"src/{PACKAGE}/agent"]
    assert all((project / path).is_dir() for path in skip)
    assert "evaluation.yaml" not in skip  # merged, not skipped: template defaults and team edits


def test_same_answers_and_commit_give_byte_identical_trees(template_repo, tmp_path):
    answers = {"project_name": "Returns Agent", "target": "databricks", "journey_tracing": True}
    first = create(template_repo, tmp_path / "a", **answers)
    second = create(template_repo, tmp_path / "b", **answers)
    assert tree_bytes(first) == tree_bytes(second)
    assert ".cruft.json" in tree_bytes(first)
    # Plain cookiecutter renders the same tree, less the record.
    plain = Path(
        cookiecutter(
            str(template_repo), no_input=True, extra_context=answers, output_dir=str(tmp_path / "c")
        )
    )
    assert tree_bytes(plain) == {k: v for k, v in tree_bytes(first).items() if k != ".cruft.json"}


def change_template(template: Path) -> str:
    """Template commit B: a new default in evaluation.yaml, a newer MLflow floor, a new file, a
    changed question default, a changed vocabulary (the Jinja extension's data), and changes
    where the team also edits (README) or owns (agent, data)."""
    rendered = template / RENDERED
    edit(rendered / "evaluation.yaml", "max_workers: auto", "max_workers: 4")
    edit(rendered / "pyproject.toml", ">=3.17.2,<4", ">=3.18.0,<4")
    edit(
        rendered / "README.md",
        "{{ cookiecutter.description }}\n",
        "{{ cookiecutter.description }} Template B says hello.\n",
    )
    with (rendered / "src" / "{{cookiecutter.package_name}}" / "agent" / "support_agent.py").open(
        "a"
    ) as agent:
        agent.write("# Template B's sample agent.\n")
    edit(
        rendered / "data" / "eval_dataset.jsonl",
        "What is your refund policy?",
        "What is the refund policy?",
    )
    (rendered / "UPGRADING.md").write_text("# Upgrading\n\nTemplate B notes.\n")
    edit(template / "cookiecutter.json", '"python_version": "3.11"', '"python_version": "3.12"')
    edit(
        template / "local_extensions" / "vocabulary.py",
        "pii=1.0,refusal=1.0",
        "pii=1.0,refusal=0.9",
    )
    return commit_all(template, "Template B")


def test_update_keeps_team_changes_brings_template_changes_and_reports_conflicts(
    template_repo, tmp_path
):
    project = start_repo(template_repo, tmp_path / "out")
    dataset = project / "data" / "eval_dataset.jsonl"
    edit(dataset, "How do I contact support?", "How do I reach support?")
    team_dataset = dataset.read_text()
    with (project / AGENT).open("a") as agent:
        agent.write("# The team's own agent.\n")
    edit(project / "evaluation.yaml", "fact_coverage: 0.9", "fact_coverage: 0.95")
    edit(project / "README.md", DEFAULTS["description"] + "\n", "Our team's notes on this agent.\n")
    commit_all(project, "Team changes")
    b = change_template(template_repo)
    assert not cruft.check(project)

    done = make(project, "update-template")

    # The conflict is reported, not resolved: both sides stay in README.md and the target fails.
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Applied patch to 'README.md' with conflicts." in done.stderr
    assert "resolve these files, then commit:\nREADME.md\n" in done.stderr
    readme = (project / "README.md").read_text()
    assert "<<<<<<< ours\nOur team's notes on this agent.\n=======\n" in readme
    assert "Template B says hello." in readme
    assert "UU README.md" in git(project, "status", "--porcelain").splitlines()
    # The team's edits survive and the template's changes arrive, in one merged evaluation.yaml.
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["quality_gates"]["fact_coverage"] == 0.95
    assert config["concurrency"]["max_workers"] == 4
    assert '"mlflow>=3.18.0,<4"' in (project / "pyproject.toml").read_text()
    assert (project / "UPGRADING.md").read_text() == "# Upgrading\n\nTemplate B notes.\n"
    # The update rendered B with B's vocabulary, not the one A's render had imported.
    vocabulary = json.loads((project / "src" / PACKAGE / "vocabulary.json").read_text())
    assert vocabulary["gate_syntax"].endswith("pii=1.0,refusal=0.9")
    # What the team owns is never touched.
    assert (project / AGENT).read_text().endswith("# The team's own agent.\n")
    assert dataset.read_text() == team_dataset
    # The record moves to B and keeps the team's answers over B's new defaults.
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert answers["_commit"] == b and answers["python_version"] == "3.11"
    assert cruft.check(project)


def test_update_changes_an_answer(template_repo, tmp_path):
    project = start_repo(template_repo, tmp_path / "out")
    done = make(project, "update-template", """VARIABLES={"ci_provider": "gitlab"}""")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / ".gitlab-ci.yml").is_file()
    assert not (project / ".github").exists()
    assert (
        json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["ci_provider"]
        == "gitlab"
    )
    changed = {
        line[3:]: line[:2].strip() for line in git(project, "status", "--porcelain").splitlines()
    }
    assert {
        path: changed.get(path)
        for path in (".cruft.json", ".github/workflows/evaluate.yml", ".gitlab-ci.yml")
    } == {".cruft.json": "M", ".github/workflows/evaluate.yml": "D", ".gitlab-ci.yml": "A"}


def test_update_runs_the_hooks_again_and_a_bad_new_answer_changes_nothing(template_repo, tmp_path):
    project = start_repo(template_repo, tmp_path / "out")
    with pytest.raises(FailedHookException):
        cruft.update(project, extra_context={"quality_gates": "pii=7"}, skip_apply_ask=True)
    assert git(project, "status", "--porcelain") == ""


def test_a_plain_cookiecutter_repo_links_to_the_record_cruft_create_writes(template_repo, tmp_path):
    answers = {"project_name": "Returns Agent", "journey_profiling": False}
    plain = Path(
        cookiecutter(
            str(template_repo),
            no_input=True,
            extra_context=answers,
            output_dir=str(tmp_path / "plain"),
        )
    )
    created = json.loads(
        (create(template_repo, tmp_path / "created", **answers) / ".cruft.json").read_text()
    )
    rendered_at = git(template_repo, "rev-parse", "HEAD").strip()
    git(plain, "init", "--quiet", "--initial-branch", "main")
    commit_all(plain, "Render the template")
    change_template(template_repo)  # the template has moved on since

    assert cruft.link(
        str(template_repo), project_dir=plain, checkout=rendered_at, extra_context=answers
    )

    linked = json.loads((plain / ".cruft.json").read_text())
    assert linked == {**created, "checkout": rendered_at}
    assert cruft.diff(plain, exit_code=True)  # the answers given reproduce the repo exactly
    assert not cruft.check(plain)
    git(plain, "add", ".cruft.json")
    git(plain, "commit", "--quiet", "--message", "Link to the template")
    assert cruft.update(plain, skip_apply_ask=True)
    assert "Template B says hello." in (plain / "README.md").read_text()
    assert cruft.check(plain)


def test_free_text_with_jinja_markers_survives_create_and_update(template_repo, tmp_path):
    """cruft renders each recorded answer as Jinja again on every update: a guideline naming
    MLflow's {{ outputs }} comes out as written at create and at each update."""
    guideline = "Answer {{ outputs }} by the shop's policy {% no template"
    project = start_repo(
        template_repo,
        tmp_path / "out",
        guidelines_text=guideline,
        scorers="pii,guidelines",
        judge_model="openai:/gpt-4.1-mini",
        quality_gates="pii=1.0,helpful=0.5",
    )
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["scorers"]["helpful"]["guidelines"] == guideline
    change_template(template_repo)

    done = make(project, "update-template")

    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["scorers"]["helpful"]["guidelines"] == guideline
    assert config["concurrency"]["max_workers"] == 4  # template B's change arrived
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert answers["guidelines_text"] == guideline


def ci_script(project: Path, provider: str) -> str:
    if provider == "github":
        workflow = yaml.safe_load((project / ".github" / "workflows" / "evaluate.yml").read_text())
        return workflow["jobs"]["template-check"]["steps"][-1]["run"]
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["template-check"]["allow_failure"] is True
    return "\n".join(pipeline["template-check"]["script"])


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_ci_template_check_warns_when_behind_and_notes_an_unreachable_template(
    template_repo, tmp_path, provider
):
    project = create(template_repo, tmp_path / "out", ci_provider=provider)
    script = ci_script(project, provider)
    tools = tmp_path / "bin"  # CI's python and pip; pip has nothing to install here
    tools.mkdir()
    (tools / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (tools / "pip").write_text("#!/bin/sh\nexit 0\n")
    for tool in tools.iterdir():
        tool.chmod(0o755)
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
    }

    def run_job() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    up_to_date = run_job()
    assert up_to_date.returncode == 0 and "SUCCESS" in up_to_date.stdout, (
        up_to_date.stdout + up_to_date.stderr
    )

    change_template(template_repo)
    behind = run_job()
    assert "This repo is behind its template: run" in behind.stdout
    if provider == "github":  # a warning annotation and the job summary; the job passes
        assert behind.returncode == 0 and "::warning::" in behind.stdout
        assert "make update-template" in summary.read_text()
    else:  # the job fails and allow_failure turns it into a warning
        assert behind.returncode == 1

    template_repo.rename(tmp_path / "moved")
    unreachable = run_job()
    assert unreachable.returncode == 0 and "is not reachable from CI" in unreachable.stdout


def team_defaults_file(tmp_path: Path, **changes) -> Path:
    """examples/team-defaults.yaml with `changes` put first: a key cookiecutter rejects there
    would make it ignore every key of the file."""
    config = yaml.safe_load(TEAM_DEFAULTS.read_text())
    rest = {key: value for key, value in config["default_context"].items() if key not in changes}
    config["default_context"] = {**changes, **rest}
    path = tmp_path / "team-defaults.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_team_defaults_bootstrap_a_repo(template_repo, tmp_path, monkeypatch):
    """The README's bootstrap command: the file named in COOKIECUTTER_CONFIG, cruft create."""
    team = yaml.safe_load(TEAM_DEFAULTS.read_text())["default_context"]
    monkeypatch.setenv(
        "COOKIECUTTER_CONFIG",
        str(team_defaults_file(tmp_path, sql_warehouse_id="0123456789abcdef")),
    )
    project = create(template_repo, tmp_path / "out", project_name="Returns Agent Eval")

    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert config["target"] == team["target"] == "databricks"
    assert config["mlflow"]["experiment"] == "/Shared/agent-evals/returns-agent-eval"
    assert config["unity_catalog"] == {
        "catalog": team["uc_catalog"],
        "schema": "returns_agent_eval",
        "sql_warehouse_id": "0123456789abcdef",
    }
    assert config["judge"]["model"] == team["judge_model"]
    assert config["quality_gates"] == team["quality_gates"]
    assert config["scorers"]["helpful"]["guidelines"] == team["guidelines_text"]
    assert (project / ".gitlab-ci.yml").is_file() and not (project / ".github").exists()
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert answers["uc_catalog"] == team["uc_catalog"] and answers["ci_provider"] == "gitlab"


def test_team_defaults_with_plain_cookiecutter_config_file(tmp_path):
    team = yaml.safe_load(TEAM_DEFAULTS.read_text())["default_context"]
    project = Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, config_file=str(TEAM_DEFAULTS), output_dir=str(tmp_path)
        )
    )
    config = yaml.safe_load((project / "evaluation.yaml").read_text())
    assert (
        config["unity_catalog"]["catalog"] == team["uc_catalog"]
        and config["quality_gates"] == team["quality_gates"]
    )
    assert (project / f".{team['ci_provider']}-ci.yml").is_file()


BAD_TEAM_DEFAULTS = {
    "target": ({"target": "azure"}, "error: target: 'azure' is not one of ['local', 'databricks']"),
    "ci-provider": (
        {"ci_provider": "jenkins"},
        "error: ci_provider: 'jenkins' is not one of ['github', 'gitlab', 'none']",
    ),
    "gate-on-unknown-scorer": (
        {"quality_gates": {"toxicity": 0.9}},
        "quality_gates.toxicity: no scorer named 'toxicity'",
    ),
}


@pytest.mark.parametrize(
    ("changes", "message"), BAD_TEAM_DEFAULTS.values(), ids=BAD_TEAM_DEFAULTS.keys()
)
def test_bad_team_default_stops_with_its_name_and_leaves_nothing(tmp_path, capfd, changes, message):
    """Through --config-file, where cookiecutter itself would only warn about a bad choice."""
    out = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            config_file=str(team_defaults_file(tmp_path, **changes)),
            output_dir=str(out),
        )
    assert message in capfd.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []


def test_bad_team_default_stops_cruft_create_too(template_repo, tmp_path, capfd):
    out = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cruft.create(
            str(template_repo),
            output_dir=out,
            config_file=team_defaults_file(tmp_path, ci_provider="Jenkins"),
            no_input=True,
        )
    assert "error: ci_provider: 'Jenkins' is not one of" in capfd.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.filterwarnings("ignore:Invalid default received")  # cookiecutter's own, and only
def test_config_named_in_the_environment_is_checked_for_what_cookiecutter_drops(
    tmp_path, capfd, monkeypatch
):
    """A journey that is not yes/no: cookiecutter warns and ignores every later key; the hook,
    re-reading the file COOKIECUTTER_CONFIG names, stops generation instead."""
    monkeypatch.setenv(
        "COOKIECUTTER_CONFIG", str(team_defaults_file(tmp_path, journey_tracing="maybe"))
    )
    out = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out))
    err = capfd.readouterr().err
    assert (
        "error: team-defaults.yaml: default_context.journey_tracing: 'maybe' is not yes/no, so "
        "cookiecutter ignored it and every key after it" in err
    )
    assert not out.exists() or list(out.iterdir()) == []


def test_a_yaml_list_of_scorers_stops_generation_instead_of_keeping_its_first_item(
    tmp_path, capfd, monkeypatch
):
    """cookiecutter reads a list as a choice and --no-input takes its first item: the team's
    other scorers would be lost without a word."""
    scorers = ["pii", "fact_coverage", "refusal"]
    gates = {"pii": 1.0}
    named = team_defaults_file(tmp_path, scorers=scorers, quality_gates=gates)
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(named))
    out = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out))
    assert (
        "error: team-defaults.yaml: default_context.scorers: a YAML list, which cookiecutter "
        "reads as a choice and answers with its first item alone; write it comma separated: "
        "scorers: pii,fact_coverage,refusal" in capfd.readouterr().err
    )
    assert not out.exists() or list(out.iterdir()) == []


def test_misspelt_team_default_is_named(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(team_defaults_file(tmp_path, uc_catlog="agents")))
    cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path / "out"))
    assert (
        "warning: team-defaults.yaml: default_context.uc_catlog: is not a question of this template"
        in capfd.readouterr().err
    )
