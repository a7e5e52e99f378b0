"""Fixtures the Dagger shell's tests share with the entries' tests: a moto S3 server."""

from ..entries.conftest import endpoint  # noqa: F401  (a fixture: the moto server's URL)
