"""Exceptions of the actions core; adapters turn them into Slack text, modal errors or exit codes.

    WayfinderError
    └── ActionError
        ├── UnknownAction   no action or request with that id
        ├── Refused         the actor may not do this now (why, and who can help)
        └── InvalidInputs   the inputs do not validate (one message per input id)
"""

from __future__ import annotations

from catalog.errors import WayfinderError


class ActionError(WayfinderError):
    """Base of the actions core's errors."""


class UnknownAction(ActionError):
    """No action, or no request, has that id."""


class Refused(ActionError):
    """Not allowed (not a requester, not an approver, own request, already decided); `help` says who can."""

    def __init__(self, reason: str, *, help: str | None = None) -> None:
        super().__init__(reason if not help else f"{reason} {help}")
        self.reason, self.help = reason, help


class InvalidInputs(ActionError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
