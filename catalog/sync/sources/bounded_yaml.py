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

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Tags whose values JSON has no form for: they would be stored as Python's repr ("b'hello'", "{'a', 'b'}").
_NOT_JSON = {"tag:yaml.org,2002:binary": "a YAML !!binary value", "tag:yaml.org,2002:set": "a YAML !!set value"}
_FLOAT = "tag:yaml.org,2002:float"
_NON_FINITE = re.compile(r"^[-+]?\.?(?:inf|nan)$", re.IGNORECASE)  # PostgreSQL's JSON refuses NaN and Infinity

# YAML 1.2's core schema, which Backstage's parser reads: PyYAML reads 1.1, where `on`, `yes` and `off` are
# booleans (`name: on` was rejected), `2024-01-01` a date and `017` octal. `<<` merge keys stay.
_CORE_SCHEMA = (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+.0123456789")),
    ("tag:yaml.org,2002:merge", r"^<<$", ["<"]),
)


class _Loader(_SafeLoader):  # libyaml's parser when installed; the resolvers below are Python either way
    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _pattern, _first in _CORE_SCHEMA:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _core_int(loader: Any, node: yaml.ScalarNode) -> int:
    """An integer as YAML 1.2 reads it: `017` is seventeen, octal is written `0o17`."""
    value = str(loader.construct_scalar(node))
    return int(value[2:], 8) if value.startswith("0o") else int(value, 16) if value.startswith("0x") else int(value)


_Loader.add_constructor("tag:yaml.org,2002:int", _core_int)


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
    flaw: tuple[int, str] | None  # the line of what rejects the document and why: a value no database stores, a key given twice


def read_documents(text: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[Document]:
    """Each YAML document of `text`, measured before it is built.

    A syntax error raises `yaml.MarkedYAMLError` with its mark; a bound raises `FileTooCostly`.
    """
    loader = _Loader(text)
    budget = limits.max_nodes
    try:
        while loader.check_node():
            node = loader.get_node()
            used, flaw = _measure(node, limits.max_depth, budget)
            budget -= used
            yield Document(node.start_mark.line + 1, loader.construct_document(node), flaw)
    finally:
        loader.dispose()


def check_bounds(node: yaml.Node, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """Raise `FileTooCostly` if one composed document is nested or, once its aliases are expanded, sized past `limits`:
    for a file read whole by another loader (`wayfinder.yaml`), before anything walks or builds it."""
    _measure(node, limits.max_depth, limits.max_nodes)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _flaw(node: yaml.Node) -> tuple[int, str] | None:
    """`(line, why)` when this node's own value rejects its document: one the catalog cannot store, or a key given twice."""
    what = _unstorable(node)
    if what is not None:
        return _line(node), f"contains {what}, which the catalog cannot store; entity skipped"
    if isinstance(node, yaml.MappingNode):
        seen: set[tuple[str, str]] = set()
        for key in (key for key, _ in node.value if isinstance(key, yaml.ScalarNode)):  # a collection as a key is rare and compared by value
            if (key.tag, key.value) in seen:
                return _line(key), f"the key {key.value!r} appears twice in one mapping (YAML map keys must be unique); entity skipped"
            seen.add((key.tag, key.value))
    return None


def _unstorable(node: yaml.Node) -> str | None:
    if node.tag in _NOT_JSON:
        return _NOT_JSON[node.tag]
    if isinstance(node, yaml.ScalarNode):
        if "\x00" in node.value:
            return "a NUL character"
        if node.tag == _FLOAT and _NON_FINITE.match(node.value):
            return f"the number {node.value} (NaN or infinity)"
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value)


def _measure(root: yaml.Node, max_depth: int, budget: int) -> tuple[int, tuple[int, str] | None]:
    """`(values in root with aliases expanded, the first flaw)`; raises `FileTooCostly`.

    Iterative post-order walk, so neither depth nor a recursive alias can exhaust the stack.
    Scalars are counted where their parent is finished; only collections are remembered.
    """
    if isinstance(root, yaml.ScalarNode):
        return 1, _flaw(root)
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()
    flaw: tuple[int, str] | None = None
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            total, tallest = 1, 1
            flaw = flaw or _flaw(node)
            for child in _children(node):
                if isinstance(child, yaml.ScalarNode):
                    total += 1
                    flaw = flaw or _flaw(child)
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
    return size[id(root)], flaw
