"""The actions' timed work (expiry, reminders, escalation, TTL reminders and teardown, runs waiting
after a restart) as one scheduler job, run by one replica at a time under a database lease."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler

from actions.service import ActionService
from catalog.store import leases

log = logging.getLogger(__name__)

JOB = "actions:tick"
EVERY = timedelta(minutes=1)


class ActionJobs:
    def __init__(self, service: ActionService, *, owner: str | None = None) -> None:
        self.service = service
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def run(self) -> dict[str, int] | None:
        """One tick if this replica wins the lease for it; None if another replica has it."""
        now = self.service.clock()
        if not leases.claim(self.service.catalog.factory, JOB, self.owner, now=now, until=now + EVERY):
            return None
        try:
            done = self.service.tick()
        finally:
            leases.release(self.service.catalog.factory, JOB, self.owner)
        if any(done.values()):
            log.info("actions: %s", ", ".join(f"{n} {k}" for k, n in done.items() if n))
        return done

    def register(self, scheduler: BaseScheduler) -> None:
        scheduler.add_job(self.run, "interval", seconds=EVERY.total_seconds(), id=JOB, name="actions", max_instances=1, coalesce=True)
