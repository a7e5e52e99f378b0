"""The module directory holds no lock file the 0.21 Python runtime would act on.

The runtime (dagger/dagger backport-0.21, sdk/python/runtime) installs a module without a
uv.lock through its legacy pip path (main.go, WithInstall): `uv pip install -e ./sdk -e .`,
plus `--no-deps -r requirements.lock` when that file exists. But before installing it always
runs WithUpdates (main.go, Common), which with a requirements.lock re-compiles it:
`uv pip compile --universal -o requirements.lock pyproject.toml sdk/pyproject.toml`. acme-ci
depends on `dagger-io` with no uv source pointing at ./sdk (the root workspace must resolve
the released 0.21.11, and ci/sdk exists only inside the engine), so the compile pins
dagger-io from the index, and the install then asks for both the vendored dagger-io 0.0.0
and dagger-io==0.21.11: "no version of dagger-io==0.21.11 ... unsatisfiable". Reproduced
with uv 0.13.9 on the runtime's own commands. A ci/uv.lock would switch the runtime to
`uv lock` + `uv sync` inside a workspace member. So neither file: the module's third-party
dependencies are resolved by the runtime, within acme-ci's ranges.
"""

from __future__ import annotations

from pathlib import Path

CI = Path(__file__).resolve().parents[2]


def test_no_lock_file_in_the_module_directory() -> None:
    for name in ("requirements.lock", "uv.lock"):
        assert not (CI / name).exists(), f"ci/{name} breaks the 0.21 Python runtime (see above)"
