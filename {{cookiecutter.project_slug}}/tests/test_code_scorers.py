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


def test_refusal_phrases_match_whole_words_in_any_case_with_apostrophes_optional():
    assert is_refusal("i cant do that.") and is_refusal("I can\u2019t do that.")
    assert is_refusal("\u2014 I'M UNABLE to help.")
    assert not is_refusal("I cannotice a thing.")  # a phrase is whole words
    assert not is_refusal("Sure. I won't forget.")  # the first sentence only


def test_refusal_phrases_replace_the_defaults():
    french = ("Je ne peux pas", "D\u00e9sol\u00e9, je ne peux pas")
    assert is_refusal("Je ne peux pas vous aider.", french)
    assert is_refusal("D\u00e9sol\u00e9, je ne peux pas.", french)
    assert not is_refusal("Je ne peux pas vous aider.")  # not in the English defaults
    assert not is_refusal("I can't help with that.", french)  # replaced, not added to
    assert refusal_verdict("Je ne peux pas.", True, french) == ("yes", "refused as expected")


def scorer(kind, **options):
    from {{ cookiecutter.package_name }}.config import ScorerConfig
    from {{ cookiecutter.package_name }}.evaluation.scorers import build_scorer

    return build_scorer(ScorerConfig(kind, kind, options), "none")


def test_the_refusal_scorer_takes_its_phrases_from_its_options():
    refuse = {"should_refuse": True}
    default, french = scorer("refusal"), scorer("refusal", phrases=["Je ne peux pas"])
    assert default.run(outputs="Je ne peux pas.", expectations=refuse).value == "no"
    assert french.run(outputs="Je ne peux pas.", expectations=refuse).value == "yes"
    assert french.run(outputs="I can't.", expectations=refuse).value == "no"


def test_a_code_scorer_on_a_row_without_its_expectations_is_not_applicable_or_an_error():
    import pytest

    from {{ cookiecutter.package_name }}.evaluation.scorers import MissingExpectations

    other = {"should_refuse": False}  # expectations, but not the ones fact_coverage needs
    assert scorer("fact_coverage").run(outputs="x", expectations=other) is None
    assert scorer("refusal").run(outputs="x", expectations={}) is None
    with pytest.raises(MissingExpectations, match="no expected_facts in this row's expectations"):
        scorer("fact_coverage", missing_expectations="error").run(outputs="x", expectations=other)
    with pytest.raises(MissingExpectations, match="missing_expectations: error"):
        scorer("refusal", missing_expectations="error").run(outputs="x", expectations=None)
    facts = {"expected_facts": ["x"]}
    checked = scorer("fact_coverage", missing_expectations="error").run(
        outputs="x", expectations=facts
    )
    assert checked.value == 1.0
