import pytest

from bot.slack.metadata import VALUE_LIMIT, AskValue, FeedbackValue, ShareValue


@pytest.mark.parametrize(
    "value",
    [
        AskValue(question="who owns payments?", ref="component:default/payments-service", intent="owner"),
        AskValue(question="help", ref=None, intent="help"),
        FeedbackValue(question="q", intent="owner", ref=None, helpful=False),
        ShareValue(question="who is in team payments"),
    ],
)
def test_round_trip(value: AskValue | FeedbackValue | ShareValue) -> None:
    raw = value.model_dump_json()
    assert type(value).model_validate_json(raw) == value


@pytest.mark.parametrize("question", ["a" * 5000, '"\\' * 3000, "é✓🙂" * 2000, "\n" * 4000])
def test_long_questions_are_cut_to_fit(question: str) -> None:
    for value in (
        AskValue(question=question, ref="component:default/" + "x" * 300, intent="owner"),
        FeedbackValue(question=question, intent="owner", ref=None, helpful=True),
        ShareValue(question=question),
    ):
        raw = value.model_dump_json()
        assert len(raw) <= VALUE_LIMIT
        assert len(raw) > VALUE_LIMIT - 10  # the longest prefix that fits, not a token stub
        assert value.question.endswith("…") and question.startswith(value.question[:-1])
        assert type(value).model_validate_json(raw) == value


def test_short_questions_are_untouched() -> None:
    assert AskValue(question="x" * 1900, ref=None, intent="owner").question == "x" * 1900


def test_unknown_fields_from_old_buttons_are_ignored() -> None:
    assert ShareValue.model_validate_json('{"question": "q", "legacy": 1}') == ShareValue(question="q")
