"""A server's index rebuilds hold themselves to a share of a core (issue 16).

Why: after a big sync every replica rebuilds its resolution index at the same moment, on machines
that also run the other replicas and the database. At full speed each rebuild took a core for a
second, and in the replica drill every Slack ack in those seconds waited for a core. Paced, a
rebuild sleeps between slices of its work; the first build (which an answer waits for) and the
CLI's builds run at full speed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.pacing import Pacer
from catalog.store import reads
from catalog.store.reads import IndexCache
from catalog.sync.engine import sync_source
from catalog.sync.sources.backstage import BackstageSource
from tests.helpers import backstage_config, component, group


class _Work:
    """CPU time that the test spends by hand, and the sleeps a pacer asked for."""

    def __init__(self) -> None:
        self.cpu, self.slept = 0.0, list[float]()

    def pacer(self, share: float, every: int) -> Pacer:
        return Pacer(share, every=every, cpu=lambda: self.cpu, sleep=self.slept.append)


def test_a_pacer_sleeps_so_that_its_work_takes_at_most_its_share() -> None:
    work = _Work()
    pacer = work.pacer(0.25, every=2)
    work.cpu += 0.004
    pacer.tick()
    assert work.slept == []  # between pauses it costs a counter
    work.cpu += 0.006
    pacer.tick()
    assert work.slept == [pytest.approx(0.030)]  # 10 ms of work, 30 ms of sleep: a quarter
    work.cpu += 0.001
    pacer.tick()
    work.cpu += 0.001
    pacer.tick()
    assert work.slept[1:] == [pytest.approx(0.006)]  # only the work since the last pause counts


def test_a_whole_core_never_sleeps_and_a_share_outside_0_to_1_is_refused() -> None:
    work = _Work()
    pacer = work.pacer(1.0, every=1)
    work.cpu += 0.5
    pacer.tick()
    assert work.slept == [0.0]
    for share in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="share"):
            Pacer(share)


def test_rebuilds_after_the_first_are_paced_when_asked(make_catalog: Callable[[Config], Catalog], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "org.yaml").write_text(group("team-a") + "---\n" + "---\n".join(component(f"svc-{i}") for i in range(30)), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    made: list[tuple[float, int]] = []

    class Counting(Pacer):
        def __init__(self, share: float) -> None:
            super().__init__(share, every=1, sleep=lambda seconds: None)
            made.append((share, 0))

        def tick(self) -> None:
            made[-1] = (made[-1][0], made[-1][1] + 1)
            super().tick()

    monkeypatch.setattr(reads, "Pacer", Counting)
    paced, unpaced = IndexCache(), IndexCache()  # unpaced: the CLI's and any other caller's
    paced.rebuild_share = 0.25
    with catalog.session() as session:
        assert len(paced.get(session)) == len(unpaced.get(session)) == 31
    assert made == []  # first builds: an answer waits for them

    (root / "more.yaml").write_text(component("svc-late"), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    with catalog.session() as session:
        for cache in (paced, unpaced):
            assert [e.ref for e in cache.get(session).named("svc-late")] == ["component:default/svc-late"]
    assert made == [(0.25, 64)]  # one pacer, the paced cache's: a tick per row read and per entity indexed
