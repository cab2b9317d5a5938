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

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Tags whose values JSON has no form for: they would be stored as Python's repr ("b'hello'", "{'a', 'b'}").
_NOT_JSON = {"tag:yaml.org,2002:binary": "a YAML !!binary value", "tag:yaml.org,2002:set": "a YAML !!set value"}
_FLOAT = "tag:yaml.org,2002:float"
_NON_FINITE = re.compile(r"^[-+]?\.?(?:inf|nan)$", re.IGNORECASE)  # PostgreSQL's JSON refuses NaN and Infinity


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
    unstorable: tuple[int, str] | None  # the line and kind of the first value no database stores (a NUL, NaN, !!binary)


def read_documents(text: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[Document]:
    """Each YAML document of `text`, measured before it is built.

    A syntax error raises `yaml.MarkedYAMLError` with its mark; a bound raises `FileTooCostly`.
    """
    loader = _Loader(text)
    budget = limits.max_nodes
    try:
        while loader.check_node():
            node = loader.get_node()
            used, unstorable = _measure(node, limits.max_depth, budget)
            budget -= used
            yield Document(node.start_mark.line + 1, loader.construct_document(node), unstorable)
    finally:
        loader.dispose()


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _unstorable(node: yaml.Node) -> tuple[int, str] | None:
    """`(line, what)` when the catalog cannot store this node's own value."""
    if node.tag in _NOT_JSON:
        return _line(node), _NOT_JSON[node.tag]
    if isinstance(node, yaml.ScalarNode):
        if "\x00" in node.value:
            return _line(node), "a NUL character"
        if node.tag == _FLOAT and _NON_FINITE.match(node.value):
            return _line(node), f"the number {node.value} (NaN or infinity)"
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value)


def _measure(root: yaml.Node, max_depth: int, budget: int) -> tuple[int, tuple[int, str] | None]:
    """`(values in root with aliases expanded, the first value no database stores)`; raises `FileTooCostly`.

    Iterative post-order walk, so neither depth nor a recursive alias can exhaust the stack.
    Scalars are counted where their parent is finished; only collections are remembered.
    """
    if isinstance(root, yaml.ScalarNode):
        return 1, _unstorable(root)
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()
    unstorable: tuple[int, str] | None = None
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            total, tallest = 1, 1
            unstorable = unstorable or _unstorable(node)
            for child in _children(node):
                if isinstance(child, yaml.ScalarNode):
                    total += 1
                    unstorable = unstorable or _unstorable(child)
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
    return size[id(root)], unstorable
