"""The module's source ignore list means what .gitignore means, under the engine's rules.

The engine uploads the module's context directory through its file sync, which filters with
moby's patternmatcher (dagger/dagger backport-0.21: engine/filesync/localfs.go ->
internal/fsutil/filter.go -> patternmatcher.New(opt.ExcludePatterns); the same code is
vendored as util/patternmatcher/patternmatcher.go). Those are .dockerignore patterns:
anchored at the root unless they start with `**/`, and a path is excluded when the pattern
matches it or one of its parent directories. .gitignore's `var/` matches at any depth; the
engine's `var` only at the top. `Pattern` below ports NewPattern, compile and match (on a
`/` separator), `excluded` ports MatchesOrParentMatches; `git check-ignore` judges the
.gitignore side.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from acme_ci.dagger.source import SOURCE_IGNORE

from ..conftest import repository_file

ESCAPED = set(".+()|{}$")


@dataclass
class Pattern:
    """patternmatcher.Pattern: a cleaned pattern, compiled on first use (compile(sl="/"))."""

    cleaned: str
    exclusion: bool = False
    match_type: str = "unknown"
    regex: re.Pattern[str] | None = None

    @classmethod
    def new(cls, text: str) -> Pattern | None:
        """NewPattern: trimmed, filepath.Clean'ed, '!' for an exclusion; None when empty."""
        text = text.strip()
        if not text:
            return None
        text = posixpath.normpath(text)
        exclusion = text.startswith("!")
        return cls(text[1:] if exclusion else text, exclusion)

    def compile(self) -> None:
        reg = "^"
        pattern = self.cleaned
        self.match_type = "exact"
        i, n, first = 0, len(pattern), True
        while i < n:
            ch = pattern[i]
            i += 1
            if ch == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":  # treat **/ as **
                        i += 1
                    if i >= n:  # "**" at the end: everything
                        if self.match_type == "exact":
                            self.match_type = "prefix"
                        else:
                            reg += ".*"
                            self.match_type = "regexp"
                    else:
                        reg += "(.*/)?"
                        self.match_type = "regexp"
                    if first:
                        self.match_type = "suffix"
                else:
                    reg += "[^/]*"
                    self.match_type = "regexp"
            elif ch == "?":
                reg += "[^/]"
                self.match_type = "regexp"
            elif ch in ESCAPED:
                reg += "\\" + ch
            elif ch == "\\":
                if i < n:
                    reg += "\\" + pattern[i]
                    i += 1
                    self.match_type = "regexp"
                else:
                    reg += "\\\\"
            elif ch in "[]":
                reg += ch
                self.match_type = "regexp"
            else:
                reg += ch
            first = False
        if self.match_type == "regexp":
            self.regex = re.compile(reg + "$")

    def match(self, path: str) -> bool:
        if self.match_type == "unknown":
            self.compile()
        if self.match_type == "exact":
            return path == self.cleaned
        if self.match_type == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.match_type == "suffix":
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None


def excluded(path: str, patterns: list[str]) -> bool:
    """patternmatcher.MatchesOrParentMatches: later patterns win; parents count."""
    compiled = [p for p in map(Pattern.new, patterns) if p is not None]
    matched = False
    parent = posixpath.dirname(path) or "."
    parent_dirs = parent.split("/")
    for pattern in compiled:
        if pattern.exclusion != matched:
            continue
        match = pattern.match(path)
        if not match and parent != ".":
            match = any(
                pattern.match("/".join(parent_dirs[: i + 1])) for i in range(len(parent_dirs))
            )
        if match:
            matched = not pattern.exclusion
    return matched


# util/patternmatcher/patternmatcher_test.go, TestMatches (pattern, path, matches): through
# Matches, which also tries the parent directory.
ENGINE_CASES = [
    ("**", "file", True),
    ("**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
]


@pytest.mark.parametrize(("pattern", "path", "matches"), ENGINE_CASES)
def test_the_port_agrees_with_the_engines_own_cases(pattern: str, path: str, matches: bool) -> None:
    assert excluded(path, [pattern]) is matches


def test_parents_count_and_later_patterns_win() -> None:
    # util/patternmatcher/patternmatcher_test.go, TestMatchesOrParentMatches.
    assert excluded("fileutils.go", ["*.go"])
    assert not excluded("fileutils.go", ["*.go", "!fileutils.go"])
    assert excluded("dir/dir2/file", ["dir"])
    assert not excluded("a/dir/file", ["dir"])  # anchored at the root
    assert excluded("a/dir/file", ["**/dir"])


# Paths the repository makes (build output, local state, caches) and paths that are source.
PROBES = [
    "var/maintenance.sqlite3",
    "services/trading/var/stocks.json",
    "services/user/var/journal/0001",
    "dist/acme_logger-0.1.0-py3-none-any.whl",
    "common/logger/dist/x.tar.gz",
    "build/lib/x.py",
    "devops/maintenance/build/lib/x.py",
    ".acme/cache/ab/cd",
    "ci/.acme/logs/run/x.log",
    ".venv/bin/python",
    "services/user/.venv/bin/python",
    "ci/sdk/dagger/__init__.py",
    "mutants/src/x.py",
    "ci/mutants/src/x.py",
    "ci/src/acme_ci/__pycache__/x.cpython-312.pyc",
    "stray.pyc",
    "ci/.pytest_cache/v/cache/nodeids",
    ".mypy_cache/3.12/x.json",
    "services/user/.ruff_cache/x",
    "devops/maintenance/.hypothesis/examples/x",
    "common/web/src/acme_web.egg-info/PKG-INFO",
    # source, kept
    "README.md",
    "ci/src/acme_ci/dagger/main.py",
    "services/trading/src/acme_trading_service/store.py",
    "services/user/src/acme_user_service/data/users.json",
    "services/trading/variables.md",
    "distribution/notes.md",
    "common/web/builder.py",
    "services/ci/sdk.py",
]


@pytest.mark.parametrize("path", PROBES)
def test_the_engine_ignores_exactly_what_git_ignores(path: str, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is not installed: .gitignore cannot be consulted")
    shutil.copy(repository_file(".gitignore"), tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    # --no-index: judge the path by the patterns alone, whether or not it exists.
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=tmp_path, check=False
    )
    assert done.returncode in (0, 1), "git check-ignore failed"
    git_ignores = done.returncode == 0
    assert excluded(path, SOURCE_IGNORE) == git_ignores, (path, git_ignores)


def test_git_history_is_uploaded() -> None:
    """Affected selection runs git over the source: .git must stay in."""
    assert not excluded(".git/HEAD", SOURCE_IGNORE)
    assert not excluded(".git/objects/pack/x.pack", SOURCE_IGNORE)
