"""What every executor gets (`Run`) and returns (`Outcome`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Run:
    """One execution of one request: the payload every executor sees, and where to report back."""

    request_id: int
    action_id: str
    inputs: dict[str, Any]
    target_ref: str | None
    requester_ref: str | None
    requester_name: str
    status_url: str  # POST progress and the final status here (long-running executors)
    token: str = field(repr=False)  # the per-run bearer token for `status_url`
    teardown: bool = False
    progress: Callable[[str], None] = lambda message: None  # a line in the card's thread

    def payload(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "action": self.action_id, "operation": "teardown" if self.teardown else "run",
            "inputs": self.inputs, "target": self.target_ref, "requester": {"ref": self.requester_ref, "name": self.requester_name},
            "status_url": self.status_url, "status_token": self.token,
        }  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """`running`: accepted; the final status comes later on `status_url`."""

    status: Literal["succeeded", "failed", "running"]
    message: str = ""
    entity_ref: str | None = None

    @classmethod
    def failed(cls, message: str) -> Outcome:
        return cls("failed", message)
