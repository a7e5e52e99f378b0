"""Deploy smoke test (native): start each service on a free port, wait for /readiness, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from acme_ci.core.workspace import Package, Workspace

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmokeResult:
    package: str
    ok: bool
    detail: str
    seconds: float


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def services(ws: Workspace) -> tuple[Package, ...]:
    return tuple(p for p in ws.packages if p.settings.kind == "service")


def smoke_service(root: Path, package: Package, log_path: Path) -> SmokeResult:
    """Start the package's console script with PORT set; ok once /readiness answers 200."""
    started = time.monotonic()
    script = package.settings.service_script or next(iter(package.scripts), None)
    if script is None:
        return SmokeResult(package.name, False, "no console script to start", 0.0)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    env["PATH"] = os.pathsep.join([str(root / ".venv/bin"), env.get("PATH", "")])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [script], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            ok, detail = _wait_ready(process, port)
        finally:
            _stop(process)
    if not ok:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        detail = f"{detail}\n{tail}"
    return SmokeResult(package.name, ok, detail, time.monotonic() - started)


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}/readiness"
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False, f"exited with code {process.returncode} before it was ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True, f"ready on port {port}"
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.2)
    return False, f"{url} not ready after {READY_TIMEOUT:.0f}s (last: {last})"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
