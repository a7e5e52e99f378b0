"""An entry as a directory: `entry.json` written beside `outputs/`, then read and checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acme_ci.core.entry_format import ENTRY_FILE, OUTPUTS_DIR, checksum_problem, entry_document
from acme_ci.entries import CorruptEntryError


def output_files(entry_dir: Path) -> dict[str, bytes]:
    """The entry's output files, by their path under `outputs/` (none without it)."""
    outputs = entry_dir / OUTPUTS_DIR
    if not outputs.is_dir():
        return {}
    return {
        path.relative_to(outputs).as_posix(): path.read_bytes()
        for path in outputs.rglob("*")
        if path.is_file()
    }


def write_entry_file(entry_dir: Path, meta: Mapping[str, Any]) -> None:
    """Write `entry.json`: `meta` and the checksum of it and of the outputs in place."""
    document = entry_document(meta, output_files(entry_dir))
    (entry_dir / ENTRY_FILE).write_text(json.dumps(document), encoding="utf-8")


def read_meta(entry_dir: Path) -> dict[str, Any]:
    """The metadata of the entry in `entry_dir`, once checked against its outputs.

    Raises CorruptEntryError, saying why, when it is unreadable or fails its checksum.
    """
    try:
        document = json.loads((entry_dir / ENTRY_FILE).read_text(encoding="utf-8"))
        files = output_files(entry_dir)
    except (OSError, ValueError) as error:
        raise CorruptEntryError(f"unreadable ({error})") from error
    problem = checksum_problem(document, files)
    if problem is not None:
        raise CorruptEntryError(problem)
    return dict(document["meta"])
