"""How busy the whole machine was during the drill's load, from Linux's `/proc/stat`.

The drill's ack p99 depends on the CPU the replicas, PostgreSQL and the sync find free: on this
VM its 50k sync took 22 s in some minutes and 49 s in others. The report says how many cores
were busy, idle and taken by the hypervisor meanwhile, so a run can be read against it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuTimes:
    """The machine's CPU seconds so far, summed over its cores."""

    busy: float  # user, nice, system, irq, softirq
    idle: float  # idle and iowait
    stolen: float  # given by the hypervisor to other guests while this one wanted them

    @classmethod
    def read(cls, stat: Path = PROC_STAT) -> CpuTimes | None:
        """Now; None without a readable Linux /proc/stat."""
        try:
            name, *fields = stat.read_text().split("\n", 1)[0].split()
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[:8])
        except (OSError, ValueError):  # not Linux, or a kernel older than 2.6.11 (no steal column)
            return None
        if name != "cpu":
            return None
        tick = os.sysconf("SC_CLK_TCK")
        return cls(busy=(user + nice + system + irq + softirq) / tick, idle=(idle + iowait) / tick, stolen=steal / tick)


def cores_line(before: CpuTimes | None, after: CpuTimes | None, seconds: float) -> str:
    """The average number of cores busy, idle and stolen between two readings `seconds` apart."""
    if before is None or after is None or seconds <= 0:
        return "not measured (no readable /proc/stat)"
    busy, idle, stolen = ((getattr(after, f) - getattr(before, f)) / seconds for f in ("busy", "idle", "stolen"))
    return f"{busy:.2f} busy, {idle:.2f} idle, {stolen:.2f} stolen by the host (cores, averaged over the load; {os.cpu_count()} CPUs)"
