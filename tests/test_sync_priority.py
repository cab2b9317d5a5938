"""`wayfinder sync` runs at a lower CPU priority, in its own thread only.

Why: a sync from cron shares the machine with `wayfinder serve`; at normal priority a 50k-entity sync
took the CPU that Slack's acknowledgements needed (ack p50 217 ms against 33–37 ms in the replica drill,
`bot.cli.priority`). A caller in the same process (a test, a server) keeps its other threads' priority.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.cli.priority import BATCH_NICENESS
from catalog.core import Catalog
from tests.invoke_cli import one_source_config, wayfinder

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="only Linux gives each thread its own niceness")


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_command_line_sync_runs_at_batch_priority_and_leaves_other_threads_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    during: list[int] = []
    sync = Catalog.sync

    def observed(self: Catalog, *args: Any, **kwargs: Any) -> Any:
        during.append(niceness())
        return sync(self, *args, **kwargs)

    monkeypatch.setattr(Catalog, "sync", observed)
    before = niceness()
    outcome: dict[str, Any] = {}

    def command() -> None:  # its own thread: one an ordinary user cannot raise again ends with the test
        outcome["result"] = wayfinder("sync", database_url=f"sqlite:///{tmp_path / 'catalog.db'}", config=one_source_config(tmp_path))

    worker = threading.Thread(target=command)
    worker.start()
    worker.join(timeout=60)
    result = outcome["result"]
    assert result.exit_code == 0 and "main" in result.stdout, result.output
    assert during == [min(before + BATCH_NICENESS, 19)]
    assert niceness() == before  # this thread, which did not sync, kept its priority
