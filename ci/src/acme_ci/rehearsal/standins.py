"""Stand-in images, built here from Debian packages and PyPI wheels, for the references the
Dagger module pins (read from acme_ci.dagger.containers at run time, never restated).

One Debian rootfs (mmdebstrap minbase + python3) is the base; the other stand-ins derive
from it. Each is built once and kept, tagged localhost/acme-stand-in/<reference>, with a
label holding the digest of its recipe: a changed recipe or pin builds a new one.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from acme_ci.dagger import containers
from acme_ci.rehearsal.evaluator import ImageSource, NoStandInError, Report
from acme_ci.rehearsal.evaluator.values import digest_of
from acme_ci.rehearsal.podman import LIMITS, entrypoint_flag, podman

PREFIX = "localhost/acme-stand-in"
LABEL = "acme.rehearsal.recipe"
CA_DIR = Path("/usr/local/share/ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "python-is-python3")
# What the official python image sets, plus the trust store: this machine may reach PyPI
# through a TLS-inspecting proxy whose CA the host trusts (/usr/local/share/ca-certificates);
# the stand-ins trust it too, as Dagger's engine installs its custom CAs into containers.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
}
APT = (
    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
    "--no-install-recommends {packages} >/dev/null && rm -rf /var/lib/apt/lists/*"
)
POSTGRES_ENTRYPOINT = r"""#!/bin/sh
# The official image's contract: POSTGRES_USER (superuser), POSTGRES_PASSWORD, POSTGRES_DB.
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | head -n1)"
user="${POSTGRES_USER:-postgres}"
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    chown postgres "$pwfile"
    runuser -u postgres -- "$BIN/initdb" -D "$PGDATA" -U "$user" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    db="${POSTGRES_DB:-$user}"
    if [ "$db" != "postgres" ]; then
        echo "CREATE DATABASE \"$db\";" | runuser -u postgres -- "$BIN/postgres" --single -j \
            -D "$PGDATA" postgres >/dev/null
    fi
fi
exec runuser -u postgres -- "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
"""


def pinned_references() -> dict[str, str]:
    """The module's image references: every `*_IMAGE` constant of acme_ci.dagger.containers."""
    return {
        name: value
        for name, value in vars(containers).items()
        if name.endswith("_IMAGE") and isinstance(value, str)
    }


def split_reference(address: str) -> tuple[str, str]:
    """(repository, tag) with Docker Hub's implicit prefixes dropped."""
    name, _, tag = (
        address.rpartition(":") if ":" in address.split("/")[-1] else (address, "", "latest")
    )
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        name = name.removeprefix(prefix)
    return name, tag


def local_tag(address: str) -> str:
    repository, tag = split_reference(address)
    return f"{PREFIX}/{re.sub(r'[^a-z0-9._/-]', '-', repository.lower())}:{tag}"


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    for path in sorted(Path("/etc/apt").glob("sources.list*")) + sorted(
        Path("/etc/apt/sources.list.d").glob("*")
    ):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"(?:URIs:|^deb)\s+(\S+)", text, re.MULTILINE):
            uri = match.group(1)
            if "security" not in uri and uri.startswith("http"):
                return uri
    return DEFAULT_MIRROR


def host_cas() -> list[Path]:
    return sorted(CA_DIR.glob("**/*.crt")) if CA_DIR.is_dir() else []


@dataclass(frozen=True)
class Recipe:
    """How one stand-in is made: from the base with a shell script, or a builder of its own."""

    describe: str
    script: str = ""
    changes: tuple[str, ...] = ()
    build: Callable[[StandIns, str, str], object] | None = None


def recipe_for(address: str) -> Recipe | None:
    """The stand-in recipe for a pinned reference, or None: no stand-in exists for it."""
    repository, tag = split_reference(address)
    if repository == "python":
        return Recipe(f"Debian {SUITE} minbase + {', '.join(BASE_PACKAGES)} (Debian's Python 3)")
    if repository == "ghcr.io/astral-sh/uv":
        return Recipe(
            f"/uv and /uvx of the uv {tag} wheel from PyPI, nothing else", build=StandIns.build_uv
        )
    if repository == "alpine/git":
        return Recipe(
            "base + Debian's git", APT.format(packages="git"), ('ENTRYPOINT ["git"]', "CMD []")
        )
    if repository == "motoserver/moto":
        # Installed by the uv stand-in's binary (mounted, not copied): minutes faster than pip.
        script = (
            "/opt/uv/uv venv --quiet --python python3 /opt/moto && /opt/uv/uv pip install "
            f"--quiet --no-cache --python /opt/moto/bin/python 'moto[server]=={tag}'"
        )
        return Recipe(
            f"base + moto[server]=={tag} from PyPI, moto_server on port 5000",
            script,
            ('ENTRYPOINT ["/opt/moto/bin/moto_server", "-H", "0.0.0.0"]', "CMD []", "EXPOSE 5000"),
        )
    if repository == "postgres":
        major = tag.split(".")[0].split("-")[0]
        script = (
            APT.format(packages=f"postgresql-{major}")
            + " && cat > /usr/local/bin/docker-entrypoint.sh <<'EOF'\n"
            + POSTGRES_ENTRYPOINT
            + "EOF\nchmod 755 /usr/local/bin/docker-entrypoint.sh"
        )
        return Recipe(
            f"base + Debian's postgresql-{major}, the official entrypoint's variables",
            script,
            ('ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]', "CMD []", "EXPOSE 5432"),
        )
    return None


class StandIns(ImageSource):
    """Builds (once, then reuses) the stand-in image of each reference the module asks for."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self._locks: dict[str, anyio.Lock] = {}
        self.built: dict[str, float] = {}
        self.reused: list[str] = []

    async def image_for(self, address: str) -> str:
        recipe = recipe_for(address)
        if recipe is None:
            known = ", ".join(sorted(a for a in pinned_references().values() if recipe_for(a)))
            raise NoStandInError(f"no stand-in image for {address} (the rehearsal builds: {known})")
        lock = self._locks.setdefault(address, anyio.Lock())
        async with lock:
            return await self._ensure(address, recipe)

    async def probe_image(self) -> str:
        return await self.image_for(containers.PYTHON_IMAGE)

    async def prepare(self) -> None:
        """Build every stand-in the module's pins need, base first (before the steps start)."""
        await self.probe_image()
        async with anyio.create_task_group() as tg:
            for address in pinned_references().values():
                if recipe_for(address) is not None:
                    tg.start_soon(self.image_for, address)

    async def _ensure(self, address: str, recipe: Recipe) -> str:
        tag = local_tag(address)
        base = (
            ""
            if recipe.build or split_reference(address)[0] == "python"
            else await self.probe_image()
        )
        wanted = digest_of(
            recipe.describe,
            recipe.script,
            recipe.changes,
            recipe.build.__qualname__ if recipe.build else "",
            base and await _image_id(base),
            [p.read_bytes() for p in host_cas()],
        )
        current = await podman(
            "image", "inspect", "--format", f'{{{{index .Labels "{LABEL}"}}}}', tag, check=False
        )
        if current.code == 0 and current.stdout.strip() == wanted:
            if address not in self.reused and address not in self.built:
                self.reused.append(address)
            return tag
        started = time.monotonic()
        self.report(f"rehearsal: building stand-in {address}: {recipe.describe}")
        if recipe.build is not None:
            await recipe.build(self, address, wanted)  # type: ignore[misc]
        elif split_reference(address)[0] == "python":
            await self.build_base(tag, wanted)
        else:
            await self._derive(base, tag, recipe, wanted)
        self.built[address] = time.monotonic() - started
        self.report(f"rehearsal: built stand-in {address} in {self.built[address]:.1f}s")
        return tag

    async def build_base(self, tag: str, label: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            rootfs = Path(tmp) / "rootfs.tar"
            hooks: list[str] = []
            cas = host_cas()
            if cas:
                hooks += [f'--customize-hook=mkdir -p "$1{CA_DIR}"']
                hooks += [f"--customize-hook=copy-in {' '.join(map(str, cas))} {CA_DIR}"]
                hooks += ['--customize-hook=chroot "$1" update-ca-certificates >/dev/null']
            hooks += ['--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*']
            await anyio.run_process(
                [
                    "mmdebstrap",
                    "--quiet",
                    "--variant=minbase",
                    f"--include={','.join(BASE_PACKAGES)}",
                    *hooks,
                    SUITE,
                    str(rootfs),
                    debian_mirror(),
                ],
                check=True,
            )
            changes = [f"ENV {k}={v}" for k, v in BASE_ENV.items()] + [
                'CMD ["python3"]',
                f"LABEL {LABEL}={label}",
            ]
            flags = [item for change in changes for item in ("--change", change)]
            await podman("import", "--quiet", *flags, str(rootfs), tag)

    async def _derive(self, base: str, tag: str, recipe: Recipe, label: str) -> None:
        name = f"acme-stand-in-{uuid_hex()}"
        mounts: list[str] = []
        if "/opt/uv/uv" in recipe.script:
            uv = await self.image_for(containers.UV_IMAGE)
            mounts = ["--mount", f"type=image,source={uv},target=/opt/uv"]
        done = await podman(
            "run",
            "--name",
            name,
            *LIMITS,
            *mounts,
            entrypoint_flag(["/bin/sh", "-ec", recipe.script]),
            base,
            check=False,
        )
        try:
            if done.code != 0:
                raise NoStandInError(f"building {tag} failed: {done.stderr.strip()[-2000:]}")
            changes = [*recipe.changes, f"LABEL {LABEL}={label}"]
            flags = [item for change in changes for item in ("--change", change)]
            await podman("commit", "--quiet", *flags, name, tag)
        finally:
            await podman("rm", "--force", name, check=False)

    async def build_uv(self, address: str, label: str) -> None:
        """The uv image holds /uv and /uvx only: the same release's binaries, from its wheel."""
        _, version = split_reference(address)
        base = await self.probe_image()
        with tempfile.TemporaryDirectory() as tmp:
            script = (
                "python3 -m venv /tmp/pip && /tmp/pip/bin/pip download --quiet --no-deps "
                f"--disable-pip-version-check --only-binary=:all: uv=={version} -d /out"
                " && cd /out && python3 -m zipfile -e uv-*.whl wheel"
            )
            await podman(
                "run",
                "--rm",
                *LIMITS,
                "--volume",
                f"{tmp}:/out",
                "--env",
                "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
                entrypoint_flag(["/bin/sh", "-ec", script]),
                base,
            )
            scripts = next(Path(tmp, "wheel").glob("uv-*.data/scripts"))  # noqa: ASYNC240
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                for binary in ("uv", "uvx"):
                    info = tar.gettarinfo(str(scripts / binary), arcname=binary)
                    info.mode, info.uid, info.gid = 0o755, 0, 0
                    with (scripts / binary).open("rb") as handle:
                        tar.addfile(info, handle)
            archive = Path(tmp) / "uv.tar"
            archive.write_bytes(buffer.getvalue())
            shutil.rmtree(Path(tmp, "wheel"), ignore_errors=True)
            await podman(
                "import",
                "--quiet",
                "--change",
                'ENTRYPOINT ["/uv"]',
                "--change",
                f"LABEL {LABEL}={label}",
                str(archive),
                local_tag(address),
            )


async def _image_id(tag: str) -> str:
    return (await podman("image", "inspect", "--format", "{{.Id}}", tag)).stdout.strip()


def uuid_hex() -> str:
    return uuid.uuid4().hex[:10]


def describe_all() -> list[str]:
    """One line per pinned reference: its stand-in, or that it has none."""
    lines = []
    for name, address in sorted(pinned_references().items()):
        recipe = recipe_for(address)
        lines.append(f"{address:34} {recipe.describe if recipe else 'no stand-in'}  ({name})")
    return lines
