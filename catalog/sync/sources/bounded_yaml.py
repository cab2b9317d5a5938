"""Reading one descriptor file with bounds on what it may cost.

Catalog files are written by anyone who can open a pull request. Without bounds one small file
could stop every sync of its source: a value nested a few hundred levels deep breaks JSON and
pydantic serialisation, a YAML alias bomb ("billion laughs") expands to gigabytes, and one
entity listing 600k references writes a million relation rows. Each bound below turns such a
file into one file's error, named with its line; the rest of the source still syncs.

The checks run on the composed node graph, before anything is constructed: an alias is the same
node object as its anchor, so sizes are counted once per node and aliases cost nothing to
measure, however far they would expand. libyaml itself refuses nesting past 1000 levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileLimits:
    """The most one descriptor file may hold; generous for hand-written and generated catalogs."""

    max_depth: int = 64  # nesting levels of one document (pydantic gives up near 255)
    max_nodes: int = 1_000_000  # values in the whole file once aliases are expanded
    max_entities: int = 20_000  # an ordinary 4 MB file holds about 17k
    max_relations: int = 100_000  # references declared by the file's entities (owner, dependsOn, ...)


DEFAULT_LIMITS = FileLimits()


class FileTooCostly(Exception):
    """The file exceeds a `FileLimits` bound; nothing after `line` is read."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Document:
    line: int
    value: Any
    nul_line: int | None  # where the first NUL character is, which no database text column stores


def read_documents(text: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[Document]:
    """Each YAML document of `text`, measured before it is built.

    A syntax error raises `yaml.MarkedYAMLError` with its mark; a bound raises `FileTooCostly`.
    """
    loader = _Loader(text)
    budget = limits.max_nodes
    try:
        while loader.check_node():
            node = loader.get_node()
            used, nul_line = _measure(node, limits.max_depth, budget)
            budget -= used
            yield Document(node.start_mark.line + 1, loader.construct_document(node), nul_line)
    finally:
        loader.dispose()


def check_bounds(node: yaml.Node, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """Raise `FileTooCostly` if one composed document is nested or, once its aliases are expanded, sized past `limits`:
    for a file read whole by another loader (`wayfinder.yaml`), before anything walks or builds it."""
    _measure(node, limits.max_depth, limits.max_nodes)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value)


def _measure(root: yaml.Node, max_depth: int, budget: int) -> tuple[int, int | None]:
    """`(values in root with aliases expanded, line of the first NUL)`; raises `FileTooCostly`.

    Iterative post-order walk, so neither depth nor a recursive alias can exhaust the stack.
    Scalars are counted where their parent is finished; only collections are remembered.
    """
    if isinstance(root, yaml.ScalarNode):
        return 1, (_line(root) if "\x00" in root.value else None)
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()
    nul_line: int | None = None
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            total, tallest = 1, 1
            for child in _children(node):
                if isinstance(child, yaml.ScalarNode):
                    total += 1
                    if nul_line is None and "\x00" in child.value:
                        nul_line = _line(child)
                else:
                    total += size[id(child)]
                    tallest = max(tallest, height[id(child)] + 1)
            open_nodes.discard(key)
            if tallest > max_depth:
                raise FileTooCostly(_line(node), f"nested more than {max_depth} levels deep")
            if total > budget:
                raise FileTooCostly(_line(node), "holds too many values once its aliases are expanded (a YAML alias bomb?)")
            size[key], height[key] = total, tallest
        elif key in open_nodes:
            raise FileTooCostly(_line(node), "an alias refers to a collection that contains it")
        elif key not in size:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if not isinstance(child, yaml.ScalarNode))
    return size[id(root)], nul_line
