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


def _rows(gate: GateResult) -> str:
    scored = f"{gate.rows_scored}/{gate.rows_applicable}"
    return (
        f"{scored} ({gate.rows_not_applicable} not applicable)"
        if gate.rows_not_applicable
        else scored
    )


FAILING_HEADERS = ("Value", "Input", "Answer", "Rationale", "Trace")


def failing_rows_blocks(report: GateReport) -> list[Block]:
    """Per failed gate, its failing rows (worst first) and how many more there are."""
    found: list[Block] = []
    for g in report.gates:
        if g.passed or not g.failing_rows:
            continue
        rows = [
            (
                f"**{r.shown}**" if r.value is None else r.shown,
                reporting.literal(r.input),  # shown as written: no link or markup from it
                reporting.literal(r.answer),
                reporting.literal(r.rationale),
                f"[open]({r.trace_url})" if r.trace_url else f"`{r.trace_id}`",
            )
            for r in g.failing_rows
        ]
        found += [
            ("h3", f"`{g.gate}`: failing rows, worst first"),
            ("table", Table(FAILING_HEADERS, rows, align="lllll")),
        ]
        if g.more_failing_rows:
            where = f" ([the run]({report.run_url}))" if report.run_url else ""
            found.append(("p", f"and {g.more_failing_rows} more{where}"))
    return found


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
            _rows(g),
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
    found += failing_rows_blocks(report)
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


def print_table(report: GateReport, console=None) -> None:
    """The gate table, then each failed gate's failing rows, on the terminal (`console`, by
    default standard output). Text from the run is printed as it is, never read as markup."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Quality gates (run {report.run_id or 'none'})")
    names = max((len(g.gate) for g in report.gates), default=4)
    table.add_column("Gate", no_wrap=True, min_width=names)  # a gate's name is never cut
    for column in ("Threshold", "Observed", "Rows scored", "Verdict", "Reason"):
        table.add_column(column, justify="right" if column in ("Threshold", "Observed") else "left")
    for g in report.gates:
        verdict = "[green]PASS[/]" if g.passed else "[bold red]FAIL[/]"
        table.add_row(
            g.gate, f"{g.threshold:.3f}", _fmt(g.observed), _rows(g), verdict, escape(g.reason)
        )
    console.print(table)
    for g in report.gates:
        if not g.passed and g.failing_rows:
            print_failing_rows(console, g)
    for note in report.notes:
        console.print(f"- {escape(note)}")


def print_failing_rows(console, gate: GateResult) -> None:
    """One failed gate's failing rows as a table, then their traces, one link a line (whole, so
    a terminal can open it)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{gate.gate}: failing rows, worst first")
    for column in ("#", *FAILING_HEADERS[:4]):
        table.add_column(column, justify="right" if column == "#" else "left")
    for number, r in enumerate(gate.failing_rows, start=1):
        shown = f"[bold red]{escape(r.shown)}[/]" if r.value is None else escape(r.shown)
        texts = (escape(r.input), escape(r.answer), escape(r.rationale))
        table.add_row(str(number), shown, *texts)
    console.print(table)
    for number, r in enumerate(gate.failing_rows, start=1):
        console.print(f"  #{number} trace: {escape(r.trace_url or r.trace_id)}", soft_wrap=True)
    if gate.more_failing_rows:
        console.print(f"  and {gate.more_failing_rows} more (every row is in the MLflow run)")
