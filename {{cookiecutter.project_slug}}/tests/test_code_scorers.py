"""The deterministic scorers really check something."""

from {{ cookiecutter.package_name }}.evaluation.code_scorers import (
    fact_coverage,
    is_refusal,
    refusal_verdict,
    response_text,
)


def test_fact_coverage_counts_missing_facts():
    value, why = fact_coverage(
        "Returns within a 30-day window.", ["30-day window", "original packaging"]
    )
    assert value == 0.5 and "original packaging" in why
    assert (
        fact_coverage(
            "A 30-DAY   window in Original packaging", ["30-day window", "original packaging"]
        )[0]
        == 1.0
    )


def test_refusal_detection_reads_the_first_sentence():
    assert is_refusal("I can't help with that. Ask about refunds.")
    assert is_refusal("I can only help with Acme questions.")
    assert not is_refusal("Refunds take 5 days. I can't say more.")
    assert not is_refusal("")


def test_refusal_verdict_both_ways():
    assert refusal_verdict("I can't help with that.", True)[0] == "yes"
    assert refusal_verdict("Here is the policy.", True) == (
        "no",
        "answered a request it should refuse",
    )
    assert refusal_verdict("I cannot do that.", False) == (
        "no",
        "refused a request it should answer",
    )


def test_response_text_of_common_output_shapes():
    assert response_text("hi") == "hi"
    assert response_text({"choices": [{"message": {"content": "hey"}}]}) == "hey"
    assert response_text({"response": "yo"}) == "yo"
    assert response_text(None) == ""
