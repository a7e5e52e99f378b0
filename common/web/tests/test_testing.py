"""The test helpers themselves: free ports, and a server that never starts."""

import socket
import sys
from pathlib import Path

import pytest

from acme_web.testing import ConsoleScript, free_port, serve


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname()[1] == port


def test_console_script_is_the_one_installed_beside_the_interpreter() -> None:
    script = Path(ConsoleScript("pytest").command[0])
    assert script.parent == Path(sys.executable).parent
    assert script.is_file()


def test_a_server_that_never_starts_is_a_timeout_naming_what_it_logged() -> None:
    quiet = [sys.executable, "-c", 'print(\'{"message": "loading"}\', flush=True)']
    expected = r"did not start within 1.0 s; saw \[\{'message': 'loading'\}\]"
    with (
        pytest.raises(TimeoutError, match=expected),
        serve(quiet, {}, startup_timeout=1.0),
    ):
        pytest.fail("the helper yielded a server that never started")
