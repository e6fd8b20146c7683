"""The tool-call checks read real MLflow traces and match expected calls as a subset."""

import json

import mlflow
import pytest
from mlflow.entities import SpanType

from {{ cookiecutter.package_name }}.evaluation.tool_checks import (
    CALL_EXAMPLE,
    ToolCall,
    budget_verdict,
    calls_made,
    check_expected_calls,
    expected_calls_verdict,
)


@mlflow.trace(span_type=SpanType.TOOL, name="lookup_order")
def lookup_order(order_id: str, include_items: bool = False) -> dict:
    return {"order_id": order_id, "status": "shipped"}


@mlflow.trace(span_type=SpanType.TOOL, name="estimate_delivery")
def estimate_delivery(method: str, weight_kg: float = 1.0) -> dict:
    return {"method": method, "business_days": 2}


def raw_tool(text: str | None) -> None:
    """A tool span whose input is not a dict (or absent), as a hand-made span can be."""
    with mlflow.start_span(name="raw_tool", span_type=SpanType.TOOL) as span:
        if text is not None:
            span.set_inputs(text)


@mlflow.trace(span_type=SpanType.AGENT)
def agent(plan: list) -> str:
    for tool, kwargs in plan:
        tool(**kwargs)
    return "done"


@pytest.fixture(scope="module")
def run_agent(tmp_path_factory):
    """Runs `agent(plan)` on a throwaway sqlite store and returns the stored trace.

    Module-scoped because creating the sqlite schema takes about a second."""
    tmp_path = tmp_path_factory.mktemp("mlflow")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    mlflow.set_experiment("tool-checks")

    def run(*plan):
        agent(list(plan))
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()
        return mlflow.get_trace(trace_id)

    yield run
    mlflow.set_tracking_uri(None)


def call(name: str, **arguments) -> dict:
    """An expected call as a dataset row writes it."""
    return {"name": name, "arguments": arguments}


def test_calls_made_reads_tool_spans_in_start_order_with_defaults(run_agent):
    trace = run_agent(
        (lookup_order, dict(order_id="A1001")),
        (estimate_delivery, dict(method="express", weight_kg=2)),
        (lookup_order, dict(order_id="B2002", include_items=True)),
    )
    assert calls_made(trace) == [
        ToolCall("lookup_order", {"order_id": "A1001", "include_items": False}),
        ToolCall("estimate_delivery", {"method": "express", "weight_kg": 2}),
        ToolCall("lookup_order", {"order_id": "B2002", "include_items": True}),
    ]
    assert calls_made(None) == []


def test_calls_made_keeps_a_non_dict_input_under_one_key(run_agent):
    trace = run_agent((raw_tool, dict(text="where is A1001")), (raw_tool, dict(text=None)))
    assert calls_made(trace) == [
        ToolCall("raw_tool", {"input": "where is A1001"}),
        ToolCall("raw_tool", {}),
    ]


def test_expected_arguments_are_a_subset_of_the_arguments_passed(run_agent):
    made = calls_made(run_agent((lookup_order, dict(order_id="A1001"))))
    assert expected_calls_verdict(made, [call("lookup_order", order_id="A1001")]) == (
        1.0,
        "made the 1 expected tool call",
    )
    assert expected_calls_verdict(made, [{"name": "lookup_order"}])[0] == 1.0


def test_a_wrong_argument_value_does_not_match(run_agent):
    made = calls_made(run_agent((lookup_order, dict(order_id="A1001"))))
    assert expected_calls_verdict(made, [call("lookup_order", order_id="A1002")]) == (
        0.0,
        'missing lookup_order(order_id="A1002"); '
        'made: lookup_order(order_id="A1001", include_items=false)',
    )


def test_a_missing_call_is_named_with_what_was_made(run_agent):
    made = calls_made(run_agent((estimate_delivery, dict(method="express"))))
    expected = [call("lookup_order", order_id="A1001"), call("estimate_delivery", method="express")]
    assert expected_calls_verdict(made, expected) == (
        0.5,
        'missing lookup_order(order_id="A1001"); '
        'made: estimate_delivery(method="express", weight_kg=1.0)',
    )
    assert expected_calls_verdict([], expected) == (
        0.0,
        'missing lookup_order(order_id="A1001"), estimate_delivery(method="express"); '
        "made no tool call",
    )


def test_each_expected_call_needs_its_own_made_call():
    one = [ToolCall("lookup_order", {"order_id": "A1001"})]
    two = one + [ToolCall("lookup_order", {"order_id": "B2002"})]
    twice = [{"name": "lookup_order"}, {"name": "lookup_order"}]
    assert expected_calls_verdict(one, twice) == (
        0.5,
        'missing lookup_order(...); made: lookup_order(order_id="A1001")',
    )
    assert expected_calls_verdict(two, twice) == (1.0, "made all 2 expected tool calls")
    # The call accepting any arguments must not take the only call the specific one fits.
    reversed_two = list(reversed(two))
    specific = [{"name": "lookup_order"}, call("lookup_order", order_id="B2002")]
    assert expected_calls_verdict(reversed_two, specific)[0] == 1.0


def test_an_empty_expectation_means_no_tool_call(run_agent):
    assert expected_calls_verdict([], []) == (1.0, "made no tool call, as expected")
    made = calls_made(run_agent((lookup_order, dict(order_id="A1001"))))
    assert expected_calls_verdict(made, []) == (
        0.0,
        'expected no tool call; made: lookup_order(order_id="A1001", include_items=false)',
    )


def test_numbers_compare_as_json_and_strings_exactly(run_agent):
    made = calls_made(run_agent((estimate_delivery, dict(method="express", weight_kg=2))))
    assert expected_calls_verdict(made, [call("estimate_delivery", weight_kg=2.0)])[0] == 1.0
    assert expected_calls_verdict(made, [call("estimate_delivery", weight_kg="2")])[0] == 0.0
    assert expected_calls_verdict(made, [call("estimate_delivery", method="Express")])[0] == 0.0
    flag = [ToolCall("lookup_order", {"include_items": True, "ids": ("A1", "B2")})]
    assert expected_calls_verdict(flag, [call("lookup_order", include_items=1)])[0] == 0.0
    assert expected_calls_verdict(flag, [call("lookup_order", ids=["A1", "B2"])])[0] == 1.0


def test_rationales_stay_short():
    long_query = "x" * 100
    made = [ToolCall(f"tool_{i}", {"query": long_query}) for i in range(7)]
    value, why = expected_calls_verdict(made, [call("lookup_order")])
    clipped = '"' + "x" * 36 + "..."
    assert value == 0.0
    assert why == (
        "missing lookup_order(...); made: "
        + ", ".join(f"tool_{i}(query={clipped})" for i in range(5))
        + " and 2 more"
    )


def test_the_budget_counts_calls_by_name():
    made = [
        ToolCall("extract_facts", {}),
        ToolCall("lookup_order", {}),
        ToolCall("extract_facts", {}),
    ]
    assert budget_verdict(made, 2) == (
        "no",
        "3 tool calls, over the budget of 2: extract_facts x2, lookup_order",
    )
    assert budget_verdict(made, 3) == (
        "yes",
        "3 tool calls, within the budget of 3: extract_facts x2, lookup_order",
    )
    assert budget_verdict(made[:1], 1) == (
        "yes",
        "1 tool call, within the budget of 1: extract_facts",
    )
    assert budget_verdict([], 0) == ("yes", "0 tool calls, within the budget of 0")


WHERE = "record 3 (id refund-policy)"


def test_expected_calls_must_be_a_list():
    assert check_expected_calls([], WHERE) == []
    assert check_expected_calls([call("lookup_order", order_id="A1001")], WHERE) == []
    assert check_expected_calls("lookup_order", WHERE) == [
        f'{WHERE}: expected_tool_calls is "lookup_order", not a list; write [] '
        f"(no tool call expected) or a list of calls like [{CALL_EXAMPLE}]"
    ]


def test_each_expected_call_is_an_object_with_a_name():
    problems = check_expected_calls(
        ["lookup_order", {"arguments": dict(order_id="A1001")}, {"name": ""}, {"name": 7}], WHERE
    )
    assert problems == [
        f'{WHERE}: expected_tool_calls[0] is "lookup_order", not an object; write {CALL_EXAMPLE}',
        f"{WHERE}: expected_tool_calls[1] has no 'name'; write {CALL_EXAMPLE}",
        f'{WHERE}: expected_tool_calls[2].name is "", not a non-empty string; '
        f"write the tool's span name, as in {CALL_EXAMPLE}",
        f"{WHERE}: expected_tool_calls[3].name is 7, not a non-empty string; "
        f"write the tool's span name, as in {CALL_EXAMPLE}",
    ]


def test_expected_arguments_are_an_object_and_no_other_key_is_allowed():
    problems = check_expected_calls(
        [{"name": "lookup_order", "arguments": ["A1001"], "args": {}, "tool": "x"}], WHERE
    )
    assert problems == [
        f'{WHERE}: expected_tool_calls[0].arguments is ["A1001"], not an object; write the '
        f"expected arguments by name, as in {CALL_EXAMPLE}, or leave 'arguments' out to accept any",
        f"{WHERE}: expected_tool_calls[0] has unknown key 'args'; keep only 'name' and "
        f"'arguments', as in {CALL_EXAMPLE}",
        f"{WHERE}: expected_tool_calls[0] has unknown key 'tool'; keep only 'name' and "
        f"'arguments', as in {CALL_EXAMPLE}",
    ]


def test_the_example_in_the_messages_is_itself_a_valid_expected_call():
    example = json.loads(CALL_EXAMPLE)
    assert example["name"] and example["arguments"]
    assert check_expected_calls([example], WHERE) == []
