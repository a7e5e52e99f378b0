""".dockerignore-style path patterns, as the engine applies `Ignore`, `exclude` and `include`.

Patterns are anchored at the directory root unless written `**/`; `*` and `?` stay inside
one path segment; a pattern that matches a directory matches everything below it; `!`
re-includes. (moby/patternmatcher, which the engine uses for every directory filter.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    text = pattern.strip().strip("/")
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        elif text[i] == "[":
            end = text.find("]", i)
            if end < 0:
                out.append(re.escape(text[i]))
                i += 1
            else:
                out.append(text[i : end + 1].replace("[!", "[^"))
                i = end + 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(out))


def _matches(pattern: str, path: str) -> bool:
    """Whether `pattern` matches `path` or one of its parent directories."""
    regex = _regex(pattern)
    parts = path.split("/")
    return any(regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1))


@dataclass(frozen=True)
class PathFilter:
    """Which root-relative paths a directory keeps: not excluded and (if any) included."""

    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()

    def keeps(self, path: str) -> bool:
        path = path.strip("/")
        if not path:
            return True
        excluded = False
        for pattern in self.exclude:
            if pattern.startswith("!"):
                if excluded and _matches(pattern[1:], path):
                    excluded = False
            elif not excluded and _matches(pattern, path):
                excluded = True
        if excluded:
            return False
        return not self.include or any(_matches(p, path) for p in self.include)

    def keeps_dir(self, path: str) -> bool:
        """Whether a walk must enter `path`: some path below it may be kept."""
        if self.include:
            # An include pattern may match deeper; only an exclusion prunes.
            return PathFilter(self.exclude).keeps(path) or any(
                p.startswith("!") for p in self.exclude
            )
        return self.keeps(path) or any(p.startswith("!") for p in self.exclude)

    @staticmethod
    def of(exclude: Sequence[str] | None, include: Sequence[str] | None) -> PathFilter:
        return PathFilter(tuple(exclude or ()), tuple(include or ()))
