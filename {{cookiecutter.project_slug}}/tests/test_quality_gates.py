"""Gate decisions fail closed: missing metrics, errors, unscored rows and empty data all fail."""

from html.parser import HTMLParser

from {{ cookiecutter.package_name }}.evaluation.quality_gates import (
    GateResult,
    decide_gates,
    numeric,
    rows_from_assessments,
)
from {{ cookiecutter.package_name }}.evaluation.report import GateReport, to_html, to_markdown


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
