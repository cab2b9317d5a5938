"""Typed button values: what a click needs to act without any server-side state.

Each model serialises with `model_dump_json()` and parses with `read`. Slack caps a button value
at 2000 characters, so the question, the only unbounded field, is cut to fit.
"""

from __future__ import annotations

from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

VALUE_LIMIT = 2000


class BadValue(ValueError):
    """A button value or private_metadata Wayfinder did not write (forged, or from another app's version)."""


Value = TypeVar("Value", bound=BaseModel)


def read(model: type[Value], raw: str) -> Value:
    """`raw` parsed as `model`; `BadValue` naming what is wrong, never the text: it holds people's questions,
    and pydantic's message quotes the input, which the error log would then keep."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        wrong = sorted({"/".join(map(str, e["loc"])) or e["type"] for e in exc.errors(include_input=False, include_url=False)})
        raise BadValue(f"invalid {model.__name__} ({len(raw)} characters): {', '.join(wrong)}") from None


class ButtonValue(BaseModel):
    model_config = ConfigDict(extra="ignore")  # old buttons in old messages keep working

    question: str

    @model_validator(mode="after")
    def _fit(self) -> Self:
        """Keep the longest prefix of `question` that fits; JSON escapes make the size non-linear."""
        if self._fits():
            return self
        full, lo, hi = self.question, 0, len(self.question)
        while lo < hi:  # binary search on the prefix length
            mid = (lo + hi + 1) // 2
            self.question = full[:mid] + "…"
            lo, hi = (mid, hi) if self._fits() else (lo, mid - 1)
        self.question = full[:lo] + "…"
        if not self._fits():
            raise ValueError(f"{type(self).__name__} does not fit in {VALUE_LIMIT} characters")
        return self

    def _fits(self) -> bool:
        return len(self.model_dump_json()) <= VALUE_LIMIT


class AskValue(ButtonValue):
    """A question to answer when clicked: about `ref` with `intent` ("Did you mean …?"), or as typed when `ref` is None."""

    ref: str | None = None
    intent: str


class FeedbackValue(ButtonValue):
    """A 👍/👎 on the answer to `question`."""

    intent: str
    ref: str | None = None
    helpful: bool


class ShareValue(ButtonValue):
    """Post the answer to `question` in the channel."""


class ExemptionAsk(BaseModel):
    """A digest's "Request exemption" button, and the modal's private_metadata: which rule, for which entities."""

    scorecard: str
    rule: str
    refs: list[str]  # the entities the rule blocks (at most `EXEMPTION_REFS`, so the value fits)
    channel: str | None = None  # where the digest was posted: the requester is told there


EXEMPTION_REFS = 20


class FixValue(BaseModel):
    """A one-click fix from the adoption digest: `name` becomes an alias of `ref`, or a new entity."""

    action: str  # add_alias | create_entity
    name: str
    ref: str | None = None
