#!/usr/bin/env bash
# The pipeline's human entry point: ./pipeline.sh ci|plan|test|cd|rehearse [flags]  (see acme-ci --help).
# Bootstraps uv when it is missing, syncs the workspace environment from the lock file,
# then hands over to acme-ci (which picks the Dagger runner when a Dagger engine answers, else
# runs natively).
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

# The environment's stamp: uv's version, the lock file and every manifest (path and
# content). When .venv carries the same stamp, it already matches and `uv sync` (~1.5 s
# even when nothing changes) is skipped; any change to them syncs again.
sync_stamp() {
    local sum=sha256sum
    command -v sha256sum >/dev/null 2>&1 || sum="shasum -a 256"
    {
        uv --version
        find . \( -name .venv -o -name .git -o -name .acme -o -name node_modules -o -name dist \
            -o -name var -o -name __pycache__ -o -name '.*_cache' \) -prune \
            -o -name pyproject.toml -print | LC_ALL=C sort | xargs $sum uv.lock
    } | $sum
}
stamp="$(sync_stamp)"
if [ "$(cat .venv/.acme-sync-stamp 2>/dev/null)" != "$stamp" ]; then
    # Bytecode compiled once here: every test step then starts its Python without recompiling.
    uv sync --frozen --all-packages --quiet --compile-bytecode
    # The workspace's own packages are installed editable, so uv leaves their sources alone:
    # compile them too (where PYTHONDONTWRITEBYTECODE is set, nothing else ever would).
    sources=()
    while IFS= read -r -d '' dir; do sources+=("$dir"); done < <(
        find . \( -name .venv -o -name .git -o -name .acme -o -name node_modules -o -name mutants \) \
            -prune -o -type d -name src -print0)
    if [ "${#sources[@]}" -gt 0 ]; then
        .venv/bin/python -m compileall -q "${sources[@]}" >/dev/null
    fi
    echo "$stamp" >.venv/.acme-sync-stamp
fi
# rehearse: the Dagger module's functions in local podman containers (acme-rehearse --help);
# its own entry point, so acme-ci never imports dagger.
if [ "${1:-}" = rehearse ]; then
    shift
    exec uv run --frozen --no-sync acme-rehearse "$@"
fi
exec uv run --frozen --no-sync acme-ci "$@"
