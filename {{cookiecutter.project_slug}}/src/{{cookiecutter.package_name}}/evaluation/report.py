"""Write the gate report (reports/gates.json, reports/gates.md) and print it as a table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .quality_gates import GateResult


@dataclass
class GateReport:
    run_id: str | None
    experiment: str
    experiment_id: str | None
    judge_model: str
    rows: int
    gates: list[GateResult]
    notes: list[str] = field(default_factory=list)
    judge_cache: dict | None = None  # hits, misses, judge calls saved (None: no LLM judge cached)
    llm_calls: dict | None = None  # calls, retries, throttled, failed (None: no LLM endpoint)
    aborted: str | None = None  # why the run stopped early (an endpoint went down)

    @property
    def passed(self) -> bool:
        return not self.aborted and bool(self.gates) and all(g.passed for g in self.gates)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "run_id": self.run_id,
            "experiment": self.experiment,
            "experiment_id": self.experiment_id,
            "judge_model": self.judge_model,
            "rows": self.rows,
            "gates": [g.as_dict() for g in self.gates],
            "notes": self.notes,
            "judge_cache": self.judge_cache,
            "llm_calls": self.llm_calls,
            "aborted": self.aborted,
        }


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.3f}"


def to_markdown(report: GateReport) -> str:
    verdict = "ABORTED" if report.aborted else "PASS" if report.passed else "FAIL"
    lines = [
        f"## Quality gates: {verdict}",
        "",
        (
            f"MLflow run `{report.run_id or 'none'}` in experiment `{report.experiment}`, "
            f"{report.rows} rows, judge `{report.judge_model}`."
        ),
        "",
        *([f"**The run was aborted**: {report.aborted}.", ""] if report.aborted else []),
        "| Gate | Threshold | Observed | Rows scored | Verdict | Reason |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for g in report.gates:
        cells = [
            f"`{g.gate}`",
            f"{g.threshold:.3f}",
            _fmt(g.observed),
            f"{g.rows_scored}/{g.rows_applicable}",
            "PASS" if g.passed else "**FAIL**",
            g.reason.replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if report.notes:
        lines += ["", *[f"- {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"


def write_reports(report: GateReport, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "gates.json", folder / "gates.md"
    json_path.write_text(
        json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    md_path.write_text(to_markdown(report), encoding="utf-8")
    return json_path, md_path


def print_table(report: GateReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Quality gates (run {report.run_id or 'none'})")
    for column in ("Gate", "Threshold", "Observed", "Rows scored", "Verdict", "Reason"):
        table.add_column(column, justify="right" if column in ("Threshold", "Observed") else "left")
    for g in report.gates:
        verdict = "[green]PASS[/]" if g.passed else "[bold red]FAIL[/]"
        table.add_row(
            g.gate,
            f"{g.threshold:.3f}",
            _fmt(g.observed),
            f"{g.rows_scored}/{g.rows_applicable}",
            verdict,
            g.reason,
        )
    console = Console()
    console.print(table)
    for note in report.notes:
        console.print(f"- {note}")
