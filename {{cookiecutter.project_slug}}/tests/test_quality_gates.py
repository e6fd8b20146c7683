"""Gate decisions fail closed: missing metrics, errors, unscored rows and empty data all fail."""

from html.parser import HTMLParser

from {{ cookiecutter.package_name }}.evaluation.quality_gates import (
    FAILING_ROWS_SHOWN,
    GateResult,
    decide_gates,
    numeric,
    rows_from_assessments,
)
from {{ cookiecutter.package_name }}.evaluation.report import (
    GateReport,
    print_table,
    to_html,
    to_markdown,
)


def feedback(name, value=None, error=None):
    body = {"value": value}
    if error:
        body["error"] = {"error_code": "SCORER_ERROR", "error_message": error}
    return {"assessment_name": name, "feedback": body}


def expectation(name, value):
    return {"assessment_name": name, "expectation": {"value": value}}


def rows(*values, state="OK", name="safety"):
    return rows_from_assessments(
        [(f"tr-{i}", state, [feedback(name, v)]) for i, v in enumerate(values)], {name}
    )


def test_numeric_values():
    assert [numeric(v) for v in ("yes", "no", True, False, 0.5, 1)] == [
        1.0,
        0.0,
        1.0,
        0.0,
        0.5,
        1.0,
    ]
    assert numeric("pass") is None and numeric(None) is None and numeric(float("nan")) is None


def test_passes_at_the_threshold():
    [gate] = decide_gates(
        {"safety": 0.5}, {"safety/mean": 0.5}, rows("yes", "no"), {"safety": 2}, 2
    )
    assert gate.passed and gate.rows_scored == 2


def test_nine_of_ten_meets_point_nine():
    data = rows(*(["yes"] * 9 + ["no"]))
    [gate] = decide_gates(
        {"safety": 0.9}, {"safety/mean": sum([1.0] * 9) / 10}, data, {"safety": 10}, 10
    )
    assert gate.passed


def test_below_threshold_fails():
    [gate] = decide_gates(
        {"safety": 1.0}, {"safety/mean": 0.5}, rows("yes", "no"), {"safety": 2}, 2
    )
    assert not gate.passed and "0.500 is below the threshold 1.000" in gate.reason


def test_missing_metric_fails():
    [gate] = decide_gates({"safety": 0.0}, {}, rows("yes"), {"safety": 1}, 1)
    assert not gate.passed and "metric safety/mean is missing" in gate.reason


def test_scorer_error_fails_even_when_the_mean_passes():
    data = rows_from_assessments(
        [
            ("a", "OK", [feedback("safety", "yes")]),
            ("b", "OK", [feedback("safety", error="no key")]),
        ],
        {"safety"},
    )
    [gate] = decide_gates({"safety": 1.0}, {"safety/mean": 1.0}, data, {"safety": 2}, 2)
    assert not gate.passed and gate.rows_errored == 1 and "no key" in gate.reason


def test_unscored_applicable_row_fails():
    [gate] = decide_gates({"safety": 1.0}, {"safety/mean": 1.0}, rows("yes"), {"safety": 2}, 2)
    assert not gate.passed and "scored 1 of the 2 rows" in gate.reason


def test_prediction_error_fails():
    [gate] = decide_gates(
        {"safety": 1.0}, {"safety/mean": 1.0}, rows("yes", state="ERROR"), {"safety": 1}, 1
    )
    assert not gate.passed and "failed to predict" in gate.reason


def test_lost_trace_fails():
    [gate] = decide_gates({"safety": 1.0}, {"safety/mean": 1.0}, rows("yes"), {"safety": 1}, 2)
    assert not gate.passed and "1 row(s) have no trace" in gate.reason


def test_value_that_is_not_a_score_fails():
    [gate] = decide_gates({"safety": 0.0}, {"safety/mean": 1.0}, rows("pass"), {"safety": 1}, 1)
    assert not gate.passed and "not a score" in gate.reason


def test_empty_dataset_fails():
    [gate] = decide_gates({"safety": 0.0}, {}, [], {"safety": 0}, 0)
    assert not gate.passed and "the dataset is empty" in gate.reason


def test_expectations_are_not_scores():
    data = rows_from_assessments(
        [("a", "OK", [expectation("fact_coverage", ["x"]), feedback("fact_coverage", 1.0)])],
        {"fact_coverage"},
    )
    assert data[0].values == {"fact_coverage": [1.0]}


def gate_report(**changes) -> GateReport:
    gates = [
        GateResult("pii", "pii/mean", 1.0, 1.0, 17, 17, 0, True, "mean 1.000 >= 1.000"),
        GateResult("refusal", "refusal/mean", 1.0, None, 5, 0, 5, False, "5 rows errored | x"),
    ]
    fields = dict(
        run_id="r1",
        experiment="demo",
        experiment_id="1",
        judge_model="none",
        rows=17,
        gates=gates,
        run_url="http://127.0.0.1:5000/#/experiments/1/runs/r1",
    )
    return GateReport(**{**fields, **changes})


class Page(HTMLParser):
    """The text of each table cell, the links and the images of an HTML report."""

    def __init__(self, text: str):
        super().__init__()
        self.cells, self.links, self.images, self.headings = [], [], [], []
        self._in = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("td", "th", "h2"):
            self._in = tag
            (self.headings if tag == "h2" else self.cells).append("")
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            target = self.headings if self._in == "h2" else self.cells
            target[-1] += data


def test_gate_reports_say_the_same_in_markdown_and_html():
    report = gate_report()
    markdown = to_markdown(report)
    assert markdown.startswith("## Quality gates: FAIL\n")
    assert "[open](http://127.0.0.1:5000/#/experiments/1/runs/r1)" in markdown
    assert "| `refusal` | 1.000 | missing | 0/5 | **FAIL** | 5 rows errored \\| x |" in markdown
    page = Page(to_html(report))
    assert page.headings == ["Quality gates: FAIL"]
    assert page.cells[6:12] == ["pii", "1.000", "1.000", "17/17", "PASS", "mean 1.000 >= 1.000"]
    assert page.cells[12:] == ["refusal", "1.000", "missing", "0/5", "FAIL", "5 rows errored | x"]
    assert page.links == ["http://127.0.0.1:5000/#/experiments/1/runs/r1"]
    [image] = page.images
    assert image.startswith("data:image/png;base64,")  # observed vs threshold, self-contained
    assert "`" not in to_html(report)  # code spans are rendered, not shown as backticks


def test_an_aborted_run_says_so_first():
    report = gate_report(aborted="the judge endpoint went down", run_url=None)
    assert to_markdown(report).splitlines()[:5] == [
        "## Quality gates: ABORTED",
        "",
        "MLflow run `r1` in experiment `demo`, 17 rows, judge `none`.",
        "",
        "**The run was aborted**: the judge endpoint went down.",
    ]


# --- Failing rows and rows a scorer does not apply to --------------------------------------


def scored(name, value=None, rationale=None, error=None):
    """A feedback as a trace's assessments list it, with its rationale."""
    return {**feedback(name, value, error), "rationale": rationale}


def coverage_rows():
    """Eight rows of a fraction scorer: one error, values from 0.0 to 1.0, a query each."""
    values = [1.0, 0.2, 0.5, 0.0, None, 0.9, 0.1, 0.3]
    traces = []
    for i, value in enumerate(values):
        score = (
            scored("coverage", error="judge timed out")
            if value is None
            else scored("coverage", value, f"covers {value:.0%}")
        )
        traces.append(
            (f"tr-{i}", "OK", [score], {"query": f"question {i}"}, f"answer {i} " + "x" * 300)
        )
    return rows_from_assessments(traces, {"coverage"})


def link(trace_id):
    return f"http://ui/traces/{trace_id}"


def test_a_failed_gate_lists_its_failing_rows_worst_first_and_counts_the_rest():
    [gate] = decide_gates(
        {"coverage": 0.8}, {"coverage/mean": 0.43}, coverage_rows(), {"coverage": 8}, 8, link
    )
    assert not gate.passed and FAILING_ROWS_SHOWN == 5
    # errors first, then the lowest values; rows at or above the threshold are not failing
    assert [r.trace_id for r in gate.failing_rows] == ["tr-4", "tr-3", "tr-6", "tr-1", "tr-7"]
    assert gate.more_failing_rows == 1  # tr-2 (0.5); tr-0 (1.0) and tr-5 (0.9) pass
    error, lowest = gate.failing_rows[:2]
    assert (error.value, error.shown, error.rationale) == (None, "error", "judge timed out")
    assert (lowest.value, lowest.shown, lowest.rationale) == (0.0, "0.000", "covers 0%")
    assert lowest.input == "question 3" and lowest.trace_url == "http://ui/traces/tr-3"
    assert lowest.answer.startswith("answer 3 xxx") and len(lowest.answer) == 100
    assert lowest.answer.endswith("\u2026")  # the start of the answer, marked as cut
    assert gate.as_dict()["failing_rows"][0]["trace_url"] == "http://ui/traces/tr-4"


def test_a_passed_gate_lists_no_rows():
    [gate] = decide_gates(
        {"coverage": 0.0}, {"coverage/mean": 0.5}, coverage_rows()[:4], {"coverage": 4}, 4
    )
    assert gate.passed and gate.failing_rows == [] and gate.more_failing_rows == 0


def test_yes_no_failures_show_the_word_and_failed_predictions_are_listed():
    traces = [
        ("a", "OK", [scored("safety", "no", "unsafe advice")], {"q": "x", "n": 2}, "bad"),
        ("b", "ERROR", [], {"query": ""}, None),
        ("c", "OK", [scored("safety", "yes", "fine")], {"query": "ok"}, "good"),
    ]
    [gate] = decide_gates(
        {"safety": 1.0},
        {"safety/mean": 0.5},
        rows_from_assessments(traces, {"safety"}),
        {"safety": 3},
        3,
    )
    shown = [(r.trace_id, r.shown, r.input) for r in gate.failing_rows]
    assert shown == [("b", "agent failed", "(empty)"), ("a", "no", '{"n": 2, "q": "x"}')]
    assert gate.failing_rows[0].trace_url is None  # no UI address known: the id is shown


def test_rows_a_scorer_does_not_apply_to_are_neither_scored_nor_failing():
    traces = [
        ("a", "OK", [scored("facts", 1.0), expectation("expected_facts", ["x"])], {"q": "a"}, ""),
        ("b", "OK", [], {"q": "b"}, ""),  # no expectations: not applicable
        ("c", "OK", [expectation("expected_facts", ["y"])], {"q": "c"}, ""),  # left unscored
    ]
    data = rows_from_assessments(traces, {"facts"})
    assert [r.expectations for r in data] == [{"expected_facts"}, set(), {"expected_facts"}]
    data[1].not_applicable = {"facts"}
    [gate] = decide_gates({"facts": 1.0}, {"facts/mean": 1.0}, data, {"facts": 2}, 3)
    assert not gate.passed and gate.rows_not_applicable == 1 and gate.rows_scored == 1
    assert [(r.trace_id, r.shown) for r in gate.failing_rows] == [("c", "not scored")]
    data[2].values["facts"] = [1.0]  # once every applicable row is scored, the gate passes
    [gate] = decide_gates({"facts": 1.0}, {"facts/mean": 1.0}, data, {"facts": 2}, 3)
    assert gate.passed and gate.rows_not_applicable == 1 and gate.failing_rows == []


class Report(HTMLParser):
    """An HTML report as blocks in order: (tag, text) for headings, paragraphs and table cells,
    and (tag, text, href) for links."""

    BLOCKS = ("h2", "h3", "p", "td", "th", "li")

    def __init__(self, text: str):
        super().__init__()
        self.blocks, self._open = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self._open = [tag, ""]
            self.blocks.append(self._open)
        elif tag == "a":
            self.blocks.append(("a", dict(attrs)["href"]))

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._open[1] += data

    def after(self, tag: str, text: str) -> list:
        """The blocks after the first `tag` whose text is `text`."""
        start = next(i for i, b in enumerate(self.blocks) if list(b) == [tag, text])
        return [tuple(b) for b in self.blocks[start + 1 :]]


def failing_report(**changes) -> GateReport:
    gates = decide_gates(
        {"coverage": 0.8}, {"coverage/mean": 0.43}, coverage_rows(), {"coverage": 8}, 8, link
    )
    return gate_report(gates=gates, **changes)


def test_reports_list_the_failing_rows_in_markdown_and_html():
    report = failing_report()
    [gate] = report.gates
    lines = to_markdown(report).splitlines()
    start = lines.index("### `coverage`: failing rows, worst first")
    table = [line.split(" | ") for line in lines[start + 2 : start + 9]]
    assert table[0] == ["| Value", "Input", "Answer", "Rationale", "Trace |"]
    rows = table[2:]
    assert [r[0] for r in rows] == ["| **error**", "| 0.000", "| 0.100", "| 0.200", "| 0.300"]
    assert [r[1] for r in rows] == [f"question {i}" for i in (4, 3, 6, 1, 7)]
    assert rows[1][4] == "[open](http://ui/traces/tr-3) |"
    assert lines[start + 9 : start + 11] == [
        "",
        "and 1 more ([the run](http://127.0.0.1:5000/#/experiments/1/runs/r1))",
    ]
    page = Report(to_html(report))
    after = page.after("h3", "coverage: failing rows, worst first")
    headers, cells = after[:5], after[5:]
    assert [text for _, text in headers] == ["Value", "Input", "Answer", "Rationale", "Trace"]
    first = cells[:6]  # five cells, the last holding the trace link
    assert first[:5] == [
        ("td", "error"),
        ("td", "question 4"),
        ("td", gate.failing_rows[0].answer),
        ("td", "judge timed out"),
        ("td", "open"),
    ]
    assert first[5] == ("a", "http://ui/traces/tr-4")
    assert [b for b in cells if b[0] == "a"] == [
        ("a", f"http://ui/traces/{r.trace_id}") for r in gate.failing_rows
    ] + [("a", "http://127.0.0.1:5000/#/experiments/1/runs/r1")]
    assert ("p", "and 1 more (the run)") in cells


def test_the_gate_row_counts_rows_not_applicable():
    gate = GateResult("facts", "facts/mean", 0.9, 1.0, 12, 12, 0, True, "ok", 5)
    page = Page(to_html(gate_report(gates=[gate])))
    assert page.cells[6:12] == ["facts", "0.900", "1.000", "12/12 (5 not applicable)", "PASS", "ok"]


def test_text_from_the_run_cannot_make_links_or_markup_in_the_reports():
    report = failing_report()
    row = report.gates[0].failing_rows[0]
    row.answer = "Click [here](javascript:alert(1)) for **free** `code`"
    row.rationale = "[/bold] closes nothing"
    page = Report(to_html(report))
    links = [b[1] for b in page.blocks if b[0] == "a"]
    assert all(href.startswith("http://") for href in links)
    cells = page.after("h3", "coverage: failing rows, worst first")
    assert cells[7:9] == [("td", row.answer), ("td", row.rationale)]  # as written
    lines = to_markdown(report).splitlines()
    first = lines[lines.index("### `coverage`: failing rows, worst first") + 4].split(" | ")
    assert first[2:4] == [  # escaped, so GitHub shows it as written too
        r"Click \[here\](javascript:alert(1)) for \*\*free\*\* \`code\`",
        r"\[/bold\] closes nothing",
    ]


def terminal(report: GateReport) -> list[str]:
    import io

    from rich.console import Console

    out = io.StringIO()
    print_table(report, Console(file=out, width=220, color_system=None))
    return out.getvalue().splitlines()


def table_rows(lines: list[str], title: str) -> list[list[str]]:
    """The body rows of the rich table titled `title`, as cell texts."""
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rows = []
    for line in lines[start + 4 :]:
        if not line.startswith("\u2502"):
            break
        rows.append([cell.strip() for cell in line.strip("\u2502").split("\u2502")])
    return rows


def test_the_terminal_lists_the_failing_rows_with_their_trace_links():
    report = failing_report()
    report.gates[0].failing_rows[1].rationale = "[/bold] is not markup here"
    lines = terminal(report)
    rows = table_rows(lines, "coverage: failing rows, worst first")
    assert [r[:3] for r in rows] == [
        ["1", "error", "question 4"],
        ["2", "0.000", "question 3"],
        ["3", "0.100", "question 6"],
        ["4", "0.200", "question 1"],
        ["5", "0.300", "question 7"],
    ]
    assert rows[1][4] == "[/bold] is not markup here"
    links = [line.strip() for line in lines if line.strip().startswith("#")]
    assert links == [
        f"#{n} trace: http://ui/traces/{r.trace_id}"
        for n, r in enumerate(report.gates[0].failing_rows, start=1)
    ]
    assert "  and 1 more (every row is in the MLflow run)" in lines
    gates = table_rows(lines, "Quality gates (run r1)")
    assert gates[0][:5] == ["coverage", "0.800", "0.430", "7/8", "FAIL"]
