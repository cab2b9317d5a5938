"""CODEOWNERS is read the way GitHub reads it: last matching rule wins, empty rules unown, bad lines skip.

Why: inferred components take their owner from CODEOWNERS; reading a rule GitHub ignores, or
merging rules GitHub does not merge, would name the wrong team as owner in every answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.sync.sources.codeowners import CodeOwners, Owner, parse_codeowners
from tests.conftest import DATA


def _read(name: str, folder: Path = DATA / "codeowners") -> CodeOwners:
    return parse_codeowners((folder / name).read_text(encoding="utf-8"))


@pytest.fixture
def real_files(third_party: Path) -> Path:
    """CODEOWNERS files of public repositories (conformance: skipped without the fixtures)."""
    return third_party / "github" / "codeowners"


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ["@northwind/platform"]),
        ("services/search/main.py", ["@northwind/platform"]),
        ("services/payments-gateway/app.py", ["@northwind/payments"]),
        ("services/payments-gateway", ["@northwind/platform"]),  # a directory rule needs a path below it
        ("services/ledger/ledger.py", ["@northwind/ledger", "@northwind/payments"]),
        ("services/ledger/migrations/0001.sql", ["@northwind/dba"]),  # the later, deeper rule wins
        ("docs/index.md", ["@northwind/writers"]),
        ("services/payments-api/docs/x.md", ["@northwind/writers"]),  # unanchored: matches at any depth
        ("docs/runbooks/ledger.md", ["@northwind/oncall", "ops@northwind.example"]),
        ("integrations/acme-bank/client.go", ["@acme/bank-integrations", "@jdoe"]),  # another org's team
        ("generated/api.py", []),  # deliberately unowned
    ],
)
def test_last_matching_rule_wins_in_a_monorepo(path: str, owners: list[str]) -> None:
    assert _owners(_read("northwind-monorepo.CODEOWNERS"), path) == owners


def test_own_file_parses_completely_with_comments_skipped() -> None:
    codeowners = _read("northwind-monorepo.CODEOWNERS")
    assert codeowners.invalid == ()
    assert [rule.line for rule in codeowners.rules] == [5, 8, 9, 10, 11, 14, 15, 18, 21]
    root = codeowners.root_rule()
    assert root is not None and root.owners == (Owner("team", "northwind/platform"),)


def _owners(codeowners: CodeOwners, path: str) -> list[str]:
    return [str(owner) for owner in codeowners.owners_of(path)]


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("packages/core/src/index.ts", ["@backstage/maintainers"]),
        ("README.md", ["@backstage/maintainers"]),
        ("docs/features/techdocs/README.md", ["@backstage/techdocs-core"]),
        ("docs/features/kubernetes/README.md", ["@backstage/maintainers"]),
        ("plugins/code-coverage/src/index.ts", ["@alde", "@nissayeva"]),
        ("plugins/code-coverage-backend/package.json", ["@alde", "@nissayeva"]),
        ("plugins/search-backend-node/src/index.ts", ["@backstage/techdocs-core"]),  # `/plugins/search-*`
        ("plugins/cloudbuild/src/api.ts", ["@trivago/ebarrios"]),  # a team of another org
        (".changeset/cost-insights-tidy-owls.md", ["@backstage/silver-lining"]),
        (".changeset/brave-cats.md", ["@backstage/maintainers"]),
        ("src/plugins/search/x.ts", ["@backstage/maintainers"]),  # anchored rules do not match deeper
    ],
)
def test_backstage_file_last_matching_rule_wins(real_files: Path, path: str, owners: list[str]) -> None:
    assert _owners(_read("backstage-backstage.CODEOWNERS", real_files), path) == owners


def test_real_files_parse_completely_and_give_the_root_owner(real_files: Path) -> None:
    expected = {
        "backstage-backstage.CODEOWNERS": (18, "@backstage/maintainers"),
        "prometheus-alertmanager.CODEOWNERS": (20, "@prometheus/alertmanager-maintainers"),
        "slackapi-bolt-python.CODEOWNERS": (2, "@slackapi/slack-platform-python"),
    }
    for name, (rules, root_owner) in expected.items():
        codeowners = _read(name, real_files)
        assert codeowners.invalid == (), name
        assert len(codeowners.rules) == rules, name
        root = codeowners.root_rule()
        assert root is not None and [str(o) for o in root.owners] == [root_owner], name


def test_bolt_python_docs_rule_is_anchored_and_covers_subdirectories(real_files: Path) -> None:
    bolt = _read("slackapi-bolt-python.CODEOWNERS", real_files)  # `#ECCN:Open Source` style lines are comments
    assert _owners(bolt, "docs/index.md") == ["@slackapi/developer-education"]
    assert _owners(bolt, "docs/concepts/authorization.md") == ["@slackapi/developer-education"]
    assert _owners(bolt, "slack_bolt/docs/x.md") == ["@slackapi/slack-platform-python"]
    assert _owners(bolt, "slack_bolt/app/app.py") == ["@slackapi/slack-platform-python"]


def test_alertmanager_notifiers(real_files: Path) -> None:
    am = _read("prometheus-alertmanager.CODEOWNERS", real_files)
    assert _owners(am, "notify/slack/slack.go") == ["@prometheus/alertmanager-maintainers"]
    assert (rule := am.rule_for("notify/slack/slack.go")) is not None and rule.line == 21
    assert (rule := am.rule_for("api/v2/api.go")) is not None and rule.line == 7


def test_last_match_wins_even_when_the_catch_all_comes_last() -> None:
    codeowners = parse_codeowners("/api/ @acme/api-team\n* @acme/everyone\n")
    assert _owners(codeowners, "api/server.go") == ["@acme/everyone"]


def test_rule_without_owners_is_deliberately_unowned_which_differs_from_no_match() -> None:
    codeowners = parse_codeowners("* @acme/core\n/vendor/\n/generated/ @acme/core\n")
    vendored = codeowners.rule_for("vendor/lib/x.go")
    assert vendored is not None and vendored.owners == ()
    assert codeowners.owners_of("vendor/lib/x.go") == ()
    assert _owners(codeowners, "generated/x.go") == ["@acme/core"]
    only_specific = parse_codeowners("/api/ @acme/api-team\n")
    assert only_specific.rule_for("web/app.ts") is None
    assert only_specific.root_rule() is None


def test_root_can_be_deliberately_unowned() -> None:
    root = parse_codeowners("* @acme/core\n*\n").root_rule()
    assert root is not None and root.owners == ()


@pytest.mark.parametrize("catch_all", ["*", "/*", "**", "/**", "**/*"])
def test_root_rule_is_the_last_catch_all(catch_all: str) -> None:
    codeowners = parse_codeowners(f"* @acme/first\n/docs/ @acme/docs\n{catch_all} @acme/second\n/api/ @acme/api\n")
    root = codeowners.root_rule()
    assert root is not None and root.owners == (Owner("team", "acme/second"),)


def test_owner_kinds() -> None:
    rule = parse_codeowners("* @acme/web-team @octo-cat docs@example.com\n").rules[0]
    assert rule.owners == (Owner("team", "acme/web-team"), Owner("user", "octo-cat"), Owner("email", "docs@example.com"))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("* acme-core", "'acme-core' is not a @user, @org/team or email"),
        ("!/docs/ @acme/docs", "negation with ! is not supported"),
        ("/docs/ @acme/docs acme#core", "'acme#core' is not a @user, @org/team or email"),  # `#` inside a word is no comment
    ],
)
def test_invalid_lines_are_skipped_and_reported(line: str, reason: str) -> None:
    codeowners = parse_codeowners(f"* @acme/core\n{line}\n")
    assert [(bad.line, bad.reason) for bad in codeowners.invalid] == [(2, reason)]
    assert [rule.line for rule in codeowners.rules] == [1]
    assert _owners(codeowners, "docs/x.md") == ["@acme/core"]


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("docs/*", ["docs/a.md"], ["docs/build/a.md", "src/docs/a.md"]),
        ("apps/", ["apps/x.js", "web/apps/y/z.js"], ["apps", "myapps/x.js"]),
        ("/build/logs/", ["build/logs/a.log", "build/logs/deep/b.log"], ["src/build/logs/a.log"]),
        ("*.js", ["a.js", "src/deep/b.js"], ["a.jsx", "a.ts"]),
        ("**/logs", ["logs/a.log", "deep/x/logs/b.log"], ["catalogs/a"]),
        ("docs/**/api.md", ["docs/api.md", "docs/v1/api.md", "docs/v1/beta/api.md"], ["src/docs/api.md"]),
        ("/scripts/**", ["scripts/a.sh", "scripts/ci/b.sh"], ["tools/scripts/a.sh"]),
        ("Makefile", ["Makefile", "sub/Makefile"], ["makefile"]),  # case-sensitive
        ("src/?.go", ["src/a.go"], ["src/ab.go"]),
    ],
)
def test_gitignore_style_patterns(pattern: str, matches: list[str], misses: list[str]) -> None:
    rule = parse_codeowners(f"{pattern} @acme/x\n").rules[0]
    assert [p for p in matches if not rule.matches(p)] == []
    assert [p for p in misses if rule.matches(p)] == []


@pytest.mark.parametrize(
    ("line", "pattern", "owners"),
    [
        ("*.js @js-owner # JavaScript, reviewed by the web team", "*.js", ["@js-owner"]),
        ("*.js @js-owner #no space needed after the hash", "*.js", ["@js-owner"]),
        ("/legacy/ # nobody: deliberately unowned", "/legacy/", []),
        ("docs/\\#drafts/ @acme/docs", "docs/\\#drafts/", ["@acme/docs"]),
        ("my\\ file.txt\t@acme/x", "my\\ file.txt", ["@acme/x"]),
    ],
)
def test_inline_comments_end_a_rule_and_escapes_stay_in_the_pattern(line: str, pattern: str, owners: list[str]) -> None:
    codeowners = parse_codeowners(line + "\n")
    assert codeowners.invalid == ()
    [rule] = codeowners.rules
    assert (rule.pattern, [str(o) for o in rule.owners]) == (pattern, owners)


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("\\*.md", ["*.md", "docs/*.md"], ["README.md"]),
        ("file\\?.txt", ["file?.txt"], ["files.txt"]),
        ("\\#notes", ["#notes", "a/#notes/b.md"], ["notes"]),
        ("docs/my\\ guide.md", ["docs/my guide.md"], ["docs/my", "docs/my\\ guide.md"]),
        ("app/\\[id\\]/page.tsx", ["app/[id]/page.tsx"], ["app/i/page.tsx"]),
        ("app/[id]/page.tsx", ["app/[id]/page.tsx"], ["app/i/page.tsx", "app/d/page.tsx"]),  # GitHub: no ranges
    ],
)
def test_backslash_escapes_and_brackets_are_literal(pattern: str, matches: list[str], misses: list[str]) -> None:
    rule = parse_codeowners(f"{pattern} @acme/x\n").rules[0]
    assert [p for p in matches if not rule.matches(p)] == []
    assert [p for p in misses if rule.matches(p)] == []


def test_a_trailing_slash_marks_a_directory_path() -> None:
    rule = parse_codeowners("/build/logs/ @acme/x\n").rules[0]
    assert rule.matches("build/logs/") and rule.matches("build/logs/a.log")
    assert not rule.matches("build/logs")  # a file called logs is not the directory
