"""Syncing a file-based source: only the files whose digest changed are parsed and written.

Each file's digest, the refs it put in the catalog and the problems it reported are stored
(`SourceFile`, table `sync_source_file`), so a sync in a freshly started process reads and hashes
every file but parses only those that changed: an unchanged file costs its hash. A changed file
costs its parse and its diff against the rows of its entities; a deleted file retires what it held,
unless another file defines it now. Files that must be read in full every run (they hold
Locations, lost a duplicate, or are broken) say so in their record.

Memory holds one batch of entities, never the catalog: each batch's rows are built, converted and
spooled to a temporary file (`writes.Spool`) as the files are read. The write transaction then
runs the spool, the retirements and the new file records together, so readers see all of a run or
none of it, and nothing is read or computed while it holds SQLite's write lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, func, select, text
from sqlmodel import Session, col

from catalog.store.engine import SessionFactory, large_write_cache, session_scope
from catalog.store.models import SourceFile, table_of
from catalog.sync import writes
from catalog.sync.apply import (
    ENTITY,
    RELATION,
    Fence,
    Limits,
    Statements,
    catalog_written,
    chunked,
    entity_rows,
    existing_rows,
    relation_changes,
    relocate_rows,
    retire_rows,
    stored_relations,
)
from catalog.sync.broken_files import file_of, spare_broken
from catalog.sync.sources.base import FileRead, FileSource
from catalog.sync.sources.descriptor import EntityDoc, Problem, snapshot_relations

if TYPE_CHECKING:
    from catalog.sync.engine import SyncReport

BATCH_ENTITIES = 2000  # entities read before their rows are built and spooled: memory holds about this many
WHOLE_SOURCE_CHECK_ABOVE = 2000  # written refs from which, if a quarter of the source, `_dangling` checks the whole source
FILE_COLUMNS = ("source", "path", "digest", "refs", "problems", "reparse")
_FILE = table_of(SourceFile)


def reconcile(factory: SessionFactory, source: FileSource, report: SyncReport, fence: Fence, limits: Limits, now: datetime) -> None:
    """Read the source's files, parse the changed ones and apply what changed, into `report`."""
    with session_scope(factory) as session:
        stored = {row.path: row for row in session.scalars(select(SourceFile).where(col(SourceFile.source) == source.name))}
        statements = Statements.of(session.get_bind().dialect)
    run = _Run(source.name, now, statements, writes.Spool(statements.all()), stored)
    try:
        scan = source.scan({path: row.digest for path, row in stored.items() if not row.reparse})
        for read in scan.files:
            run.read(factory, read)
        run.settle(factory)
        report.problems = run.problems + scan.problems
        _apply(factory, run, report, fence, limits)
    finally:
        run.spool.close()


@dataclass
class _Run:
    """What one run has read so far, and the writes it prepared."""

    source: str
    now: datetime
    statements: Statements
    spool: writes.Spool
    stored: dict[str, SourceFile]
    holders: dict[str, str] = field(default_factory=dict)  # ref -> the stored file that held it
    skipped: set[str] = field(default_factory=set)  # files unchanged since their record, not parsed
    records: dict[str, SourceFile] = field(default_factory=dict)  # files parsed this run, as they will be stored
    broken: dict[str, Problem] = field(default_factory=dict)
    asserted: set[str] = field(default_factory=set)  # refs the parsed files define
    written: list[str] = field(default_factory=list)  # refs added or updated
    in_scope: set[int] = field(default_factory=set)  # row ids this run speaks for
    pending: list[tuple[str, EntityDoc]] = field(default_factory=list)
    contested: list[tuple[str, EntityDoc]] = field(default_factory=list)  # refs held by a file not seen yet
    problems: list[Problem] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    relocated: int = 0  # unchanged entities whose location moved (a renamed file, lines added above)
    unchanged: int = 0

    def __post_init__(self) -> None:
        self.holders = {ref: path for path, row in self.stored.items() for ref in row.refs}

    def read(self, factory: SessionFactory, read: FileRead) -> None:
        """Take one file: a skipped one keeps its record; a parsed one's entities join the batch."""
        if read.entities is None:
            row = self.stored[read.path]
            self.skipped.add(read.path)
            self.problems += [Problem.model_validate(p) for p in row.problems]
            self.unchanged += len(row.refs)
            return
        problems = [p.model_dump(exclude_none=True) for p in read.problems]
        self.records[read.path] = SourceFile(source=self.source, path=read.path, digest=read.digest, problems=problems, reparse=read.reparse or read.broken is not None)
        self.problems += read.problems
        if read.broken is not None:
            self.broken[read.path] = read.broken
        for doc in read.entities:
            holder = self.holders.get(doc.ref, read.path)
            if holder == read.path or holder in self.records:
                self.pending.append((read.path, doc))
            else:  # held by a file not parsed now: it wins if it is still there (decided once every file was seen)
                self.contested.append((read.path, doc))
        if len(self.pending) >= BATCH_ENTITIES:
            self.flush(factory)

    def settle(self, factory: SessionFactory) -> None:
        """Every file was seen: a ref held by a file left unchanged stays there, one whose file changed or went moves."""
        kept_elsewhere = [(path, doc) for path, doc in self.contested if self.holders[doc.ref] in self.skipped]
        self.pending += [(path, doc) for path, doc in self.contested if self.holders[doc.ref] not in self.skipped]
        if kept_elsewhere:
            with session_scope(factory) as session:
                e = ENTITY.c
                where: dict[str, str | None] = {}
                for refs in chunked([doc.ref for _, doc in kept_elsewhere]):
                    found: Iterable[tuple[str, str | None]] = session.execute(select(e.ref, e.location).where(e.source == self.source, e.ref.in_(refs)))
                    where.update((ref, location) for ref, location in found)
            for path, doc in kept_elsewhere:
                problem = Problem(file=path, line=_line(doc.location), entity=doc.ref, message=f"duplicate entity, already defined at {where.get(doc.ref)}; skipped")
                record = self.records[path]
                record.problems = [*record.problems, problem.model_dump(exclude_none=True)]
                record.reparse = True
                self.problems.append(problem)
        self.flush(factory)

    def flush(self, factory: SessionFactory) -> None:
        """Diff the pending entities against their rows and spool the writes."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        docs = [doc for _, doc in batch]
        relations, bad_references = snapshot_relations(docs)
        added: list[tuple[EntityDoc, str]] = []
        updated: list[tuple[int, EntityDoc, str]] = []
        moved: list[tuple[int, EntityDoc]] = []
        with session_scope(factory) as session:
            existing = existing_rows(session, self.source, [doc.ref for doc in docs])
            for path, doc in batch:
                self.records[path].refs.append(doc.ref)
                self.asserted.add(doc.ref)
                digest, row = doc.content_hash(), existing.get(doc.ref)
                if row is None:
                    added.append((doc, digest))
                    continue
                self.in_scope.add(row.id)
                if row.retired or row.digest != digest:
                    updated.append((row.id, doc, digest))
                else:
                    self.unchanged += 1
                    if row.moved(doc):
                        moved.append((row.id, doc))
            stored = stored_relations(session, self.source, [doc.ref for _, doc, _ in updated])
        for problem in bad_references:  # stored with the file, to be shown again while it is unchanged
            if (record := self.records.get(file_of(problem.file) or "")) is not None:
                record.problems = [*record.problems, problem.model_dump(exclude_none=True)]
        self.problems += bad_references
        for statement, rows in entity_rows(self.statements, self.source, self.now, added, updated):
            self.spool.add(statement, rows)
        self.spool.add(*relocate_rows(self.statements, moved))
        fresh = [doc.ref for doc, _ in added] + [doc.ref for _, doc, _ in updated]
        self.written += fresh
        gone, new = relation_changes(self.source, fresh, relations, stored)
        self.spool.add(self.statements.delete_relations, self.statements.delete_relations.rows(gone))
        self.spool.add(self.statements.insert_relations, self.statements.insert_relations.rows(new))
        self.added, self.updated, self.relocated = self.added + len(added), self.updated + len(updated), self.relocated + len(moved)

    def no_longer_asserted(self, session: Session) -> set[str]:
        """Refs the catalog has from files parsed or gone now that no file asserts any more.

        A source's first run by file knows no files: then every active row of it is in question.
        """
        if not self.stored:
            e = ENTITY.c
            return set(session.scalars(select(e.ref).where(e.source == self.source, e.retired_at.is_(None)))) - self.asserted
        looked_at = [path for path in self.stored if path not in self.skipped]
        return {ref for path in looked_at for ref in self.stored[path].refs} - self.asserted

    def file_writes(self) -> tuple[list[tuple[str, str]], list[SourceFile]]:
        """`(records to delete, records to insert)`: files gone, and parsed files whose record changed."""
        changed = [r for path, r in self.records.items() if _differs(r, self.stored.get(path))]
        gone = [path for path in self.stored if path not in self.records and path not in self.skipped]
        return [(self.source, path) for path in gone] + [(self.source, r.path) for r in changed if r.path in self.stored], changed


def _apply(factory: SessionFactory, run: _Run, report: SyncReport, fence: Fence, limits: Limits) -> None:
    """Retire what no file asserts any more (sparing broken files' entities), check the guard, and write."""
    with session_scope(factory) as session:
        candidates = run.no_longer_asserted(session)
        rows = existing_rows(session, run.source, candidates) if candidates else {}
        retire = [(row.id, ref) for ref, row in rows.items() if not row.retired]
        run.in_scope.update(row.id for row in rows.values())
        retire, kept, spared = spare_broken(session, run.source, retire, run.in_scope, run.broken, True, run.now, run.holders)
        report.problems += kept
        for ref, file in spared:  # still the broken file's: retired when it is deleted
            if file in run.records:
                run.records[file].refs.append(ref)
        e = ENTITY.c
        counted = retire and not limits.allow_large_delete  # the guard's question only: counting scans the source's rows
        active = session.scalar(select(func.count()).select_from(ENTITY).where(e.source == run.source, e.retired_at.is_(None))) if counted else 0
        empty = not run.asserted and not any(run.stored[path].refs for path in run.skipped)
        refused = limits.refusal(len(retire), active or 0, empty)
        if refused:
            report.status, report.error = "refused", refused
            return
        gone_relations, _ = relation_changes(run.source, (), {}, stored_relations(session, run.source, [ref for _, ref in retire]))
    deleted, inserted = run.file_writes()
    catalog_changed = bool(run.added or run.updated or run.relocated or retire)
    report.added, report.updated, report.removed, report.unchanged = run.added, run.updated, len(retire), run.unchanged
    report.files_parsed, report.files_skipped = len(run.records), len(run.skipped)
    if not (catalog_changed or deleted or inserted):
        return
    with session_scope(factory) as session:
        dialect = session.get_bind().dialect
        delete_files = writes.delete_rows(dialect, _FILE, ("source", "path"))
        insert_files = writes.insert_rows(dialect, _FILE, FILE_COLUMNS)
        file_rows = insert_files.rows([tuple(getattr(r, c) for c in FILE_COLUMNS) for r in inserted])
        retired = run.statements.retire.rows(retire_rows(retire, run.now))
        unlinked = run.statements.delete_relations.rows(gone_relations)
        delete_rows = delete_files.rows(deleted)
        with fence(session), large_write_cache(session):
            run.spool.run(session)
            run.statements.retire.run(session, retired)
            run.statements.delete_relations.run(session, unlinked)
            delete_files.run(session, delete_rows)
            insert_files.run(session, file_rows)
            if catalog_changed:
                catalog_written(session, run.added + run.updated + len(retire))
    report.problems += _dangling(factory, run.source, run.written, run.added + run.updated + run.unchanged)


def _dangling(factory: SessionFactory, source: str, written: list[str], size: int) -> list[Problem]:
    """Forward references of the entities this run wrote to entities that do not exist (reported, not fatal).

    Asked of the database once the run is written: it knows every active entity of every source.
    A run that wrote a few entities looks up their relations' targets (an index lookup each, by
    chunks of refs). A run that wrote much of its source (`size` entities), such as a first sync,
    asks once which targets of the whole source's relations are missing, a set difference that no
    plan turns into a lookup per relation, then reads the relations to those few (a scan of the
    relation table per 500 of them: no index is kept on the target). At 50k entities on PostgreSQL
    that took 0.11 s, where the chunks took 1.3 s of the database's CPU right after the write, when
    every replica rebuilds its index.
    """
    origins, targets = ENTITY.alias("origin"), ENTITY.alias("target")
    r, origin, target = RELATION.c, origins.c, targets.c
    query = (
        select(r.id, origin.location, r.origin_ref, r.type, r.target_ref)
        .join_from(RELATION, origins, and_(origin.source == r.source, origin.ref == r.origin_ref))
        .where(r.source == source, r.subject_ref == r.origin_ref, origin.retired_at.is_(None))
        .where(~exists().where(target.ref == r.target_ref, target.retired_at.is_(None)))
    )
    found: list[tuple[int, str | None, str, str, str]] = []
    with session_scope(factory) as session:
        if len(written) < WHOLE_SOURCE_CHECK_ABOVE or len(written) * 4 < size:
            for chunk in chunked(written):
                found += session.execute(query.where(r.origin_ref.in_(chunk))).all()
        else:
            if session.get_bind().dialect.name == "postgresql":
                # Scans of the whole relation table, which PostgreSQL planned with two parallel workers: three
                # backends at once, right after the write, when every replica reads its new index.
                session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            forward = select(r.target_ref).where(r.source == source, r.subject_ref == r.origin_ref)
            missing: list[str] = list(session.scalars(forward.except_(select(target.ref).where(target.retired_at.is_(None)))))
            mine = set(written)
            for chunk in chunked(missing):
                found += [row for row in session.execute(query.where(r.target_ref.in_(chunk))) if row[2] in mine]
    message = "{} {}, which does not exist in the catalog"
    return [Problem(severity="warning", file=location, entity=ref, message=message.format(rel, to)) for _, location, ref, rel, to in sorted(found, key=lambda row: row[0])]


def _differs(record: SourceFile, stored: SourceFile | None) -> bool:
    if stored is None:
        return True
    return (record.digest, record.refs, record.problems, record.reparse) != (stored.digest, stored.refs, stored.problems, stored.reparse)


def _line(location: str | None) -> int | None:
    tail = (location or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None

