"""Files under .acme/ replaced whole: a reader sees the old content or the new, never a part."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def replace_text(path: Path, text: str) -> None:
    """Write `text` to a private file beside `path`, then rename it over `path` (concurrent
    writers each publish a whole file; the last rename wins). Raises OSError, leaving
    nothing behind, when the directory cannot take it."""
    import tempfile  # here: a run served from the cache writes none of these files

    fd, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise
