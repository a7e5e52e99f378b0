"""The test helpers themselves: free ports, and a server that never starts."""

import socket
import sys
from pathlib import Path

import pytest

from acme_web.testing import ConsoleScript, ServerStartupError, free_port, serve


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname()[1] == port


def test_console_script_is_the_one_installed_beside_the_interpreter() -> None:
    script = Path(ConsoleScript("pytest").command[0])
    assert script.parent == Path(sys.executable).parent
    assert script.is_file()


def test_a_server_that_never_starts_fails_naming_what_it_logged() -> None:
    silent = [
        sys.executable,
        "-c",
        'import time; print(\'{"message": "loading"}\', flush=True); time.sleep(30)',
    ]
    with pytest.raises(ServerStartupError) as raised, serve(silent, {}, startup_timeout=1.0):
        pytest.fail("the helper yielded a server that never started")
    assert "did not start within 1.0 s" in str(raised.value)
    assert "'message': 'loading'" in str(raised.value)
    # A flaky-test policy that reruns TimeoutError must not take this for a flake.
    assert not isinstance(raised.value, TimeoutError)


def test_a_server_that_exits_during_startup_fails_at_once() -> None:
    crashing = [sys.executable, "-c", 'print(\'{"message": "bad config"}\'); raise SystemExit(2)']
    with pytest.raises(ServerStartupError) as raised, serve(crashing, {}, startup_timeout=60.0):
        pytest.fail("the helper yielded a server that exited")
    assert "exited with code 2" in str(raised.value)
    assert "bad config" in str(raised.value)
