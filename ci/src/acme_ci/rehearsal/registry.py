"""A throwaway OCI registry on 127.0.0.1 (Debian's docker-registry) for `publish`."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CONFIG = """version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


class RegistryError(Exception):
    """The local registry did not start; the message has its output."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def local_registry() -> Iterator[str]:
    """`127.0.0.1:PORT` of a registry that lives as long as the block."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RegistryError("docker-registry is not installed (apt-get install docker-registry)")
    with tempfile.TemporaryDirectory(prefix="acme-registry-") as tmp:
        port = free_port()
        config = Path(tmp) / "config.yml"
        config.write_text(CONFIG.format(root=Path(tmp) / "data", port=port))
        log = (Path(tmp) / "log").open("wb")
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RegistryError((Path(tmp) / "log").read_text(errors="replace")[-2000:])
                time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
