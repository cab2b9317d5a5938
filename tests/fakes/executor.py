"""A local HTTP executor for action webhooks: checks each call's signature and records the runs.

It answers `{"status": answer}` (`succeeded`, or `running` for a long-running job that reports
later); faults and delays come from `FakeHTTPServer` (`fail`, `delay`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.fakes.http_fake import FakeHTTPServer, RecordedRequest, Response


class FakeExecutor(FakeHTTPServer):
    def __init__(self, secret: str, *, answer: str = "succeeded") -> None:
        super().__init__()
        self.secret, self.answer = secret, answer
        self.runs: list[dict[str, Any]] = []  # valid, signed calls that were answered 2xx
        self.bad_signatures = 0

    def handle(self, request: RecordedRequest) -> Response:
        timestamp = request.headers.get("x-wayfinder-timestamp", "")
        expected = "v1=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-wayfinder-signature", "")):
            self.bad_signatures += 1
            return Response.of(401, {"error": "bad signature"})
        self.runs.append(json.loads(request.body))
        return Response.of(200, {"status": self.answer, "message": f"done by the fake ({len(self.runs)})"})
