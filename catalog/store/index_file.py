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
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import catalog.search.resolve as resolve
from catalog.search.resolve import CatalogIndex

# The index's class may change between versions: its module's code is part of the key.
_CODE = hashlib.sha256(Path(resolve.__file__).read_bytes()).hexdigest()[:16]


def default_directory() -> Path:
    """`$XDG_CACHE_HOME/wayfinder`, else `~/.cache/wayfinder`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wayfinder"


class IndexFile:
    """One catalog's saved index in `directory`; `load` and `save` never raise for a cache problem."""

    def __init__(self, directory: Path, database_url: str) -> None:
        self.path = directory / f"index-{hashlib.sha256(f'{database_url}|{_CODE}'.encode()).hexdigest()[:24]}.pickle"

    def load(self, key: tuple[Any, ...]) -> CatalogIndex | None:
        """The saved index if it was saved under `key`, else None."""
        try:
            with self.path.open("rb") as stream:
                if not _private(os.fstat(stream.fileno())) or pickle.load(stream) != key:
                    return None
                gc.disable()  # unpickling 100k entities allocates objects that are all kept: collecting meanwhile only slows it down
                try:
                    index = pickle.load(stream)
                finally:
                    gc.enable()
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
            return None
        return index if isinstance(index, CatalogIndex) else None

    def save(self, key: tuple[Any, ...], index: CatalogIndex) -> None:
        """Write atomically (a reader never sees half a file), readable by this user only."""
        index.build_lazy_parts()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".index-")  # created with mode 0600
            try:
                with os.fdopen(fd, "wb") as stream:
                    pickle.dump(key, stream, protocol=pickle.HIGHEST_PROTOCOL)
                    pickle.dump(index, stream, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass  # a read-only or full disk (or an index that cannot be pickled): the next question rebuilds, as without a cache


def _private(st: os.stat_result) -> bool:
    """Only a file this user owns and nobody else can write is unpickled (unpickling runs code)."""
    return st.st_uid == os.getuid() and not st.st_mode & 0o022
