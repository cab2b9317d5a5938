"""The resolution index saved to a file between processes, so `wayfinder ask` does not rebuild it.

A server builds its `CatalogIndex` once and keeps it; a CLI question is a new process, and at 100k
entities rebuilding the index took longer than answering. So the CLI keeps the last index it built
in a private cache file (`~/.cache/wayfinder/`, mode 0600) and loads it instead, as long as the
catalog is the same: the file is keyed by the database URL, the code of the index, the database's
first sync (a database recreated under the same URL differs there) and the catalog generation,
which every change bumps. Anything else (another catalog, a newer generation, an unreadable or
foreign file) is a miss and the index is built from the database as before. Nothing here is state:
deleting the directory only costs one rebuild. The saved index includes what a first typo would
build lazily (its trigram postings), so a misspelt question in a new process does not build them.

The file is read as the question needs it, not whole: unpickling all of a 100k-entity index cost
a question more than answering it. Its big lists are saved in chunks and its big dicts in shards
(by a stable hash of the key), each pickled apart, behind a table of where each lies; a loaded
index maps the file and unpickles a chunk or shard on its first use. An exact name then reads a
few shards and chunks, a typo the postings of its own trigrams.
"""

from __future__ import annotations

import gc
import hashlib
import mmap
import os
import pickle
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import catalog.search.resolve as resolve
from catalog.search.resolve import CatalogIndex

# The index's class and this file's layout may change between versions: their code is part of the key.
_CODE = hashlib.sha256(Path(resolve.__file__).read_bytes() + Path(__file__).read_bytes()).hexdigest()[:16]
# The index's parts read piecewise, with the items per chunk or keys per shard (about): smaller where a
# question reads scattered items (a typo's 64 candidate entities, its few dozen trigrams' postings).
# The other parts, small, are kept in the table itself.
CHUNKED = {"entities": 32, "_compact_names": 1024, "_sorted_tokens": 1024}
SHARDED = {"_exact": 256, "_by_ref": 256, "_token_postings": 64, "_trigram_postings": 16}

Span = tuple[int, int]


def default_directory() -> Path:
    """`$XDG_CACHE_HOME/wayfinder`, else `~/.cache/wayfinder`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wayfinder"


class IndexFile:
    """One catalog's saved index in `directory`; `load` and `save` never raise for a cache problem."""

    def __init__(self, directory: Path, database_url: str) -> None:
        self.path = directory / f"index-{hashlib.sha256(f'{database_url}|{_CODE}'.encode()).hexdigest()[:24]}.pickle"

    def load(self, key: tuple[Any, ...]) -> CatalogIndex | None:
        """The saved index if it was saved under `key`, else None; its parts are read when first used."""
        try:
            with self.path.open("rb") as stream:
                st = os.fstat(stream.fileno())
                if not _private(st) or pickle.load(stream) != key:
                    return None
                table = pickle.load(stream)
                start = stream.tell()
                if not isinstance(table, dict) or start + table.pop("__size__", -1) != st.st_size:  # a foreign or truncated file
                    return None
                data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
            return None

        def read(span: Span) -> Any:
            return _unpickle(data[start + span[0] : start + span[1]])

        index = CatalogIndex.__new__(CatalogIndex)
        for name, (how, value) in table.items():
            setattr(index, name, Chunks(read, *value) if how == "chunks" else Shards(read, *value) if how == "shards" else value)
        return index

    def save(self, key: tuple[Any, ...], index: CatalogIndex) -> None:
        """Write atomically (a reader never sees half a file), readable by this user only."""
        index.build_lazy_parts()
        try:
            blobs: list[bytes] = []
            table = {name: _layout(name, value, blobs) for name, value in vars(index).items()}
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".index-")  # created with mode 0600
            try:
                with os.fdopen(fd, "wb") as stream:
                    pickle.dump(key, stream, protocol=pickle.HIGHEST_PROTOCOL)
                    pickle.dump(table | {"__size__": sum(map(len, blobs))}, stream, protocol=pickle.HIGHEST_PROTOCOL)
                    stream.writelines(blobs)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass  # a read-only or full disk (or an index that cannot be pickled): the next question rebuilds, as without a cache


class Chunks(Sequence[Any]):
    """A saved list whose items are unpickled a chunk at a time, when one of them is first read."""

    def __init__(self, read: Callable[[Span], Any], spans: list[Span], length: int, size: int) -> None:
        self._read, self._spans, self._length, self._size = read, spans, length, size
        self._chunks: dict[int, list[Any]] = {}

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, at: int) -> Any: ...
    @overload
    def __getitem__(self, at: slice) -> list[Any]: ...
    def __getitem__(self, at: int | slice) -> Any:
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(self._length))]
        if at < 0:
            at += self._length
        if not 0 <= at < self._length:
            raise IndexError(at)
        return self._chunk(at // self._size)[at % self._size]

    def __iter__(self) -> Iterator[Any]:
        for number in range(len(self._spans)):
            yield from self._chunk(number)

    def _chunk(self, number: int) -> list[Any]:
        chunk = self._chunks.get(number)
        if chunk is None:
            chunk = self._chunks[number] = self._read(self._spans[number])
        return chunk


class Shards(Mapping[str, Any]):
    """A saved dict whose keys are unpickled a shard at a time, the shard a looked-up key falls in."""

    def __init__(self, read: Callable[[Span], Any], spans: list[Span], length: int, size: int) -> None:
        self._read, self._spans, self._length = read, spans, length
        self._shards: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: str) -> Any:
        return self._shard(_shard_of(key, len(self._spans)))[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._shard(_shard_of(key, len(self._spans))).get(key, default)

    def __iter__(self) -> Iterator[str]:
        for number in range(len(self._spans)):
            yield from self._shard(number)

    def _shard(self, number: int) -> dict[str, Any]:
        shard = self._shards.get(number)
        if shard is None:
            shard = self._shards[number] = self._read(self._spans[number])
        return shard


def _layout(name: str, value: Any, blobs: list[bytes]) -> tuple[str, Any]:
    """How part `name` is saved: its pickled pieces are appended to `blobs`, their spans returned."""
    if name in CHUNKED:
        size = CHUNKED[name]
        pieces: list[Any] = [list(value[i : i + size]) for i in range(0, len(value), size)]
        how = "chunks"
    elif name in SHARDED and value is not None:
        size = SHARDED[name]
        pieces = [{} for _ in range(max(1, len(value) // size))]
        for k, v in value.items():
            pieces[_shard_of(k, len(pieces))][k] = v
        how = "shards"
    else:
        return ("value", value)
    spans, end = [], sum(map(len, blobs))
    for piece in pieces:
        blob = pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)
        blobs.append(blob)
        spans.append((end, end + len(blob)))
        end += len(blob)
    return (how, (spans, len(value), size))


def _shard_of(key: str, shards: int) -> int:
    """Stable across processes (`hash()` of a str is not)."""
    return zlib.crc32(key.encode()) % shards


def _unpickle(data: bytes) -> Any:
    gc.disable()  # every object unpickled is kept: collecting meanwhile only slows it down
    try:
        return pickle.loads(data)
    finally:
        gc.enable()


def _private(st: os.stat_result) -> bool:
    """Only a file this user owns and nobody else can write is unpickled (unpickling runs code)."""
    return st.st_uid == os.getuid() and not st.st_mode & 0o022
