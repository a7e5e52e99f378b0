"""TOML answers remembered by content: the manifests a run reads, parsed once.

A warm run's whole cost is its start-up; parsing the workspace's manifests (and importing
tomllib to do it) was a tenth of it. A memo entry is the parsed data as JSON, named after
the sha256 of the TOML text, so an edited manifest can never get an old answer; JSON reads
about fifty times faster than TOML parses. Data JSON cannot hold (TOML dates) is not
remembered, and an unreadable entry is parsed again: the memo only ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acme_ci.core.workspace import toml_loads
from acme_ci.native.atomic import replace_text

MEMO_DIR = "toml"  # under the state directory, .acme/


class TomlMemo:
    """`loads` for core.workspace: tomllib's answers, remembered under `directory`."""

    def __init__(self, directory: Path, *, remember: bool = True) -> None:
        self.directory = directory
        self.remember = remember

    def loads(self, text: str) -> Mapping[str, Any]:
        try:
            data = json.loads(self._entry(text).read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
        parsed = toml_loads(text)  # bad TOML raises here, as without the memo
        if self.remember:
            self.keep(text, parsed)
        return parsed

    def keep(self, text: str, data: Mapping[str, Any]) -> None:
        """Remember `data` as the answer for `text`, atomically. Kept only where the state
        directory (the memo directory's parent, .acme/) already exists, so reading the
        workspace (`acme-ci plan`) never creates it; a checkout the run cannot write to
        keeps nothing, and data JSON cannot hold (TOML dates) is not kept."""
        entry = self._entry(text)
        if entry.is_file() or not self.directory.parent.is_dir():
            return
        try:
            encoded = json.dumps(data)
        except (TypeError, ValueError):
            return
        with contextlib.suppress(OSError):
            entry.parent.mkdir(parents=True, exist_ok=True)
            replace_text(entry, encoded)

    def _entry(self, text: str) -> Path:
        return self.directory / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
