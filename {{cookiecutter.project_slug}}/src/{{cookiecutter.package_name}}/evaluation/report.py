"""Write the gate report (reports/gates.json; gates.md and gates.html from the same blocks, see
reporting.py) and print it as a table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import reporting
from ..reporting import Block, Chart, Table
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
    run_url: str | None = None  # the run in the MLflow UI, when its address is known

    @property
    def passed(self) -> bool:
        return not self.aborted and bool(self.gates) and all(g.passed for g in self.gates)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "run_id": self.run_id,
            "run_url": self.run_url,
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


def verdict(report: GateReport) -> str:
    return "ABORTED" if report.aborted else "PASS" if report.passed else "FAIL"


def blocks(report: GateReport) -> list[Block]:
    run = f"`{report.run_id or 'none'}`"
    if report.run_url:
        run += f" ([open]({report.run_url}))"
    rows = [
        (
            f"`{g.gate}`",
            f"{g.threshold:.3f}",
            _fmt(g.observed),
            f"{g.rows_scored}/{g.rows_applicable}",
            "PASS" if g.passed else "**FAIL**",
            g.reason,
        )
        for g in report.gates
    ]
    headers = ("Gate", "Threshold", "Observed", "Rows scored", "Verdict", "Reason")
    found: list[Block] = [
        ("h2", f"Quality gates: {verdict(report)}"),
        (
            "p",
            f"MLflow run {run} in experiment `{report.experiment}`, "
            f"{report.rows} rows, judge `{report.judge_model}`.",
        ),
    ]
    if report.aborted:
        found.append(("p", f"**The run was aborted**: {report.aborted}."))
    found += [("table", Table(headers, rows, align="lrrrll")), ("chart", Chart("gates"))]
    if report.notes:
        found.append(("list", list(report.notes)))
    return found


def to_markdown(report: GateReport) -> str:
    return reporting.markdown(blocks(report), lambda chart: "")  # the chart is in gates.html


def gates_png(report: GateReport) -> bytes | None:
    """Observed mean vs threshold per gate; a missing mean is drawn as 0 (and fails)."""
    if not report.gates:
        return None
    series = {
        "observed": [g.observed or 0.0 for g in report.gates],
        "threshold": [g.threshold for g in report.gates],
    }
    labels = [f"{g.gate} ({'pass' if g.passed else 'FAIL'})" for g in report.gates]
    return reporting.means_chart(labels, series, _fmt)


def to_html(report: GateReport) -> str:
    image = gates_png(report)

    def chart_html(_chart: Chart) -> str:
        if image is None:
            return "<p>No gate to chart.</p>"
        return reporting.png_img(image, "observed mean vs threshold per gate")

    return reporting.html_document(f"Quality gates: {verdict(report)}", blocks(report), chart_html)


def write_reports(report: GateReport, folder: Path) -> tuple[Path, Path, Path]:
    """gates.json, gates.md and gates.html in `folder`."""
    md_path, html_path = reporting.write_pair(folder, "gates", to_markdown(report), to_html(report))
    json_path = folder / "gates.json"
    json_path.write_text(
        json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return json_path, md_path, html_path


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
