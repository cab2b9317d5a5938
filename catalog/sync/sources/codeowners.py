"""CODEOWNERS files, read by GitHub's rules (FORMATS.md §4).

GitHub applies the *last* rule whose pattern matches a path, never merging it with earlier
ones; a rule with no owners leaves its paths deliberately unowned, which differs from no rule
matching at all. `#` after whitespace starts a comment, also at the end of a rule
(`*.js @js-owner # JS`); a backslash makes the next character literal (`\\*`, `\\?`, `\\#`, `\\[`,
`\\ ` for a space in a path). `[ ]` are literal characters, not ranges: GitHub's documentation says
ranges do not work, and paths like `app/[id]/page.tsx` must match themselves. Lines GitHub cannot
use (unknown owner syntax, `!` negation) are skipped, as GitHub skips them, and reported.

Patterns follow gitignore: a slash at the start or in the middle anchors to the repository
root, `dir/` matches that directory anywhere, `docs/*` only its direct children, `**` crosses
directories, and a bare name or glob matches at any depth, together with everything under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# GitHub uses the first of these that exists on the default branch.
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

_TEAM = re.compile(r"^@([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9][A-Za-z0-9_.-]*)$")
_USER = re.compile(r"^@([A-Za-z0-9][A-Za-z0-9_-]*)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Patterns that cover every file at the top of the repository, i.e. the repository itself.
_ROOT_PATTERNS = {"*", "**", "**/*"}


@dataclass(frozen=True)
class Owner:
    """One owner as written: a team (`org/slug`), a user login, or an email address."""

    kind: Literal["team", "user", "email"]
    name: str

    @classmethod
    def parse(cls, token: str) -> Owner | None:
        if m := _TEAM.match(token):
            return cls("team", f"{m[1]}/{m[2]}")
        if m := _USER.match(token):
            return cls("user", m[1])
        if _EMAIL.match(token):
            return cls("email", token)
        return None

    def __str__(self) -> str:
        return self.name if self.kind == "email" else f"@{self.name}"


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[Owner, ...]
    line: int
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """`path` is relative to the repository root; a trailing `/` marks a directory."""
        return self.regex.match(path) is not None

    @property
    def covers_root(self) -> bool:
        return self.pattern.lstrip("/") in _ROOT_PATTERNS


@dataclass(frozen=True)
class InvalidLine:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class CodeOwners:
    rules: tuple[Rule, ...]
    invalid: tuple[InvalidLine, ...]

    def rule_for(self, path: str) -> Rule | None:
        """The rule that decides `path`: the last one matching it."""
        return next((rule for rule in reversed(self.rules) if rule.matches(path)), None)

    def owners_of(self, path: str) -> tuple[Owner, ...]:
        """Owners of a file path; empty when unowned (use `rule_for` to tell "deliberately" from "no rule")."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()

    def root_rule(self) -> Rule | None:
        """The rule that owns the repository as a whole: the last catch-all (`*`, `**`, `/**`...)."""
        return next((rule for rule in reversed(self.rules) if rule.covers_root), None)


def parse_codeowners(text: str) -> CodeOwners:
    rules: list[Rule] = []
    invalid: list[InvalidLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = _words(raw)
        if not words:
            continue
        pattern, *tokens = words
        reason = _pattern_problem(pattern)
        owners = [Owner.parse(token) for token in tokens]
        if reason is None and None in owners:
            reason = f"{tokens[owners.index(None)]!r} is not a @user, @org/team or email"
        if reason is not None:
            invalid.append(InvalidLine(number, raw, reason))
            continue
        rules.append(Rule(pattern, tuple(o for o in owners if o is not None), number, _compile(pattern)))
    return CodeOwners(tuple(rules), tuple(invalid))


_WORD = re.compile(r"(?:\\.|[^\s\\])+\\?")


def _words(line: str) -> list[str]:
    """The whitespace-separated words of a line, up to an unescaped `#` that starts a word.

    A backslash keeps the next character in the word (`foo\\ bar` is one word), as written.
    """
    words = []
    for word in _WORD.findall(line):
        if word.startswith("#"):
            break
        words.append(word)
    return words


def _pattern_problem(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return "negation with ! is not supported"
    if not pattern.strip("/"):
        return "empty pattern"
    return None


def _compile(pattern: str) -> re.Pattern[str]:
    anchored = "/" in pattern.rstrip("/")
    segments = pattern.strip("/").split("/")
    directory = pattern.endswith("/") and segments[-1] != "**"  # `foo/**/` is everything under foo, like `foo/**`
    body = ""
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            body += ".*" if last else "(?:.*/)?"
        else:
            body += _glob(segment) + ("" if last else "/")
    if directory:
        tail = "/.*"  # `.*` may be empty: the directory itself, written `docs/`
    elif segments[-1] in ("*", "**"):
        tail = "/?"  # `docs/*`: direct children only
    else:
        tail = "(?:/.*)?"  # the file itself, or everything under a directory of that name
    return re.compile(("^" if anchored else "^(?:.*/)?") + body + tail + "$", re.DOTALL)


_GLOB_TOKEN = re.compile(r"\\(.)|(\*)|(\?)|(.)", re.DOTALL)


def _glob(segment: str) -> str:
    """One path segment as a regex: `*` and `?` stay within the segment, `\\x` is a literal x."""

    def one(m: re.Match[str]) -> str:
        escaped, star, question, plain = m.groups()
        if star:
            return "[^/]*"
        if question:
            return "[^/]"
        return re.escape(escaped if escaped is not None else plain)

    return _GLOB_TOKEN.sub(one, segment)
