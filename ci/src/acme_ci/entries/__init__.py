"""The step cache's entries as both shells store them: files, archives and S3 objects.

File and S3 I/O, no dagger, neither shell: the native shell uses it on the host, and the
Dagger shell runs its CLI (acme_ci.entries.cli) inside a container. The format itself is
pure and lives in the core (acme_ci.core.entry_format).
"""


class CorruptEntryError(Exception):
    """A cache entry cannot be read or fails its checksum: it must not be used."""
