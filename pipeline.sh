#!/usr/bin/env bash
# The pipeline's human entry point: ./pipeline.sh ci|plan|test|cd [flags]  (see acme-ci --help).
# Bootstraps uv when it is missing, syncs the workspace environment from the lock file,
# then hands over to acme-ci (which picks Dagger when an engine answers, else runs natively).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

if ! command -v uv >/dev/null 2>&1; then
    bootstrap="$root/.acme/bootstrap"
    if [ ! -x "$bootstrap/bin/uv" ]; then
        echo "pipeline.sh: uv not found; installing it into $bootstrap" >&2
        # A private venv works as root, as a user, and where the system Python refuses
        # `pip install --user` (PEP 668 externally managed environments).
        python3 -m venv "$bootstrap"
        "$bootstrap/bin/python" -m pip install --quiet --disable-pip-version-check uv
    fi
    export PATH="$bootstrap/bin:$PATH"
fi

# Bytecode compiled once here: every test step then starts its Python without recompiling.
uv sync --frozen --all-packages --quiet --compile-bytecode
exec uv run --frozen --no-sync acme-ci "$@"
