"""The native shell: runs the core's plan as host subprocesses, with a local cache and a CLI."""
