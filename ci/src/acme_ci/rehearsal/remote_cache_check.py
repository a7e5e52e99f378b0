"""`dagger call ci --all --cache-url ...` twice against an S3 stand-in: the second call must
restore every step from the remote step cache.

The stand-in is the moto server image the module's own tests use (the rehearsal's stand-in
of MOTO_IMAGE), started by the rehearsal on its network, so the module's lookup and store
execs reach it through `--cache-endpoint-url`. The credentials and the cache URL (when the
module takes it as a secret) reach the module as the CLI passes secrets: `env:NAME`, read
from this process's environment. Each call is a session of its own, and both cross the
function boundary, so the engine's function cache decides whether the second one runs at
all: a `ci` the engine would replay whole (a default-cached function) returns the first
call's summary, with no remote hit, and this check fails.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping

import anyio
import boto3
from botocore.config import Config

from acme_ci.dagger import containers
from acme_ci.rehearsal.functions import Outcome, result_lines, timed
from acme_ci.rehearsal.podman import LIMITS, image_config
from acme_ci.rehearsal.registry import free_port
from acme_ci.rehearsal.session import Rehearsal
from acme_ci.rehearsal.strcase import cli_name
from acme_ci.rehearsal.typedefs import FunctionDef

BUCKET = "acme-rehearsal-cache"
CACHE_URL = f"s3://{BUCKET}/steps"
REGION = "us-east-1"
# What this process's environment holds for the `env:` secrets (moto accepts any keys).
SECRET_ENV = {
    "ACME_REHEARSAL_CACHE_URL": CACHE_URL,
    "ACME_REHEARSAL_AWS_ACCESS_KEY_ID": "rehearsal",
    "ACME_REHEARSAL_AWS_SECRET_ACCESS_KEY": "rehearsal-secret",
}
# Each credential's variable, and the `ci` arguments that may take it (newest name first).
CREDENTIALS = {
    "ACME_REHEARSAL_AWS_ACCESS_KEY_ID": ("cache_aws_access_key_id", "aws_access_key_id"),
    "ACME_REHEARSAL_AWS_SECRET_ACCESS_KEY": (
        "cache_aws_secret_access_key",
        "aws_secret_access_key",
    ),
}
MOTO_PORT = 5000
_STEPS = re.compile(r"^(\d+) steps: (.*?) in [\d.]+s", re.MULTILINE)
_HITS = re.compile(r"^Remote cache .*: (\d+) hits", re.MULTILINE)


def remote_hits(summary: str) -> tuple[int, int, int]:
    """(steps, steps cached, remote hits) read from a `ci` summary; zeros where absent."""
    steps = _STEPS.search(summary)
    hits = _HITS.search(summary)
    if steps is None:
        return 0, 0, int(hits.group(1)) if hits else 0
    cached = re.search(r"(\d+) cached", steps.group(2))
    return (
        int(steps.group(1)),
        int(cached.group(1)) if cached else 0,
        int(hits.group(1)) if hits else 0,
    )


def every_step_a_remote_hit(summary: str) -> bool:
    steps, cached, hits = remote_hits(summary)
    return steps > 0 and cached == steps and hits == steps


def cache_flags(ci: FunctionDef) -> list[str]:
    """The URL and credential flags as `ci` registers them: a secret as `env:NAME`, the URL
    as text while the module takes it as a string; the credentials under their
    `--cache-aws-...` names, or the `--aws-...` ones of modules before them."""
    url_is_secret = ci.arg("cache_url").type.name == "Secret"
    flags = ["--cache-url", "env:ACME_REHEARSAL_CACHE_URL" if url_is_secret else CACHE_URL]
    names = {arg.name for arg in ci.args}
    for variable, candidates in CREDENTIALS.items():
        name = next(n for n in candidates if n in names)
        flags += [f"--{cli_name(name)}", f"env:{variable}"]
    return flags


def make_bucket(endpoint: str) -> None:
    """The cache's bucket, created once the server answers (botocore retries a refused
    connection while it starts)."""
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=SECRET_ENV["ACME_REHEARSAL_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=SECRET_ENV["ACME_REHEARSAL_AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 12, "mode": "standard"}, connect_timeout=2),
    )
    s3.create_bucket(Bucket=BUCKET)


@contextlib.asynccontextmanager
async def s3_stand_in(r: Rehearsal) -> AsyncIterator[str]:
    """A moto server on the rehearsal's network for the block; the endpoint execs reach."""
    resources = r.evaluator.resources
    image = await r.images.image_for(containers.MOTO_IMAGE)
    config = await image_config(resources.podman, image)
    argv = [*(config.get("Entrypoint") or ()), *(config.get("Cmd") or ())]
    port = free_port()
    network = await resources.shared_network()
    published = f"127.0.0.1:{port}:{MOTO_PORT}"
    name = await resources.create_container(
        "moto", image, argv, *LIMITS, "--network", network, "--publish", published
    )
    try:
        await resources.podman("start", name)
        await anyio.to_thread.run_sync(make_bucket, f"http://127.0.0.1:{port}")
        yield f"http://{name}:{MOTO_PORT}"
    finally:
        await resources.remove_container(name)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in this process's environment for the block (what `env:` secrets read)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def ci_twice_from_the_remote_cache(r: Rehearsal, jobs: int) -> Outcome:
    """`ci --all` with the remote cache, twice: the second must be every step a remote hit."""

    async def body() -> tuple[bool, list[str]]:
        ci = (await r.boundary.module()).main.functions["ci"]
        async with s3_stand_in(r) as endpoint:
            argv = [
                "ci", "--all", "--jobs", str(jobs), *cache_flags(ci),
                "--cache-scope", "main",
                "--cache-endpoint-url", endpoint, "--cache-region", REGION,
            ]  # fmt: skip
            with environment(SECRET_ENV):
                first = await r.boundary.call(argv)
                if not first.ok:
                    failed = [f"  | {x}" for x in result_lines(first)]
                    return False, ["first call: FAILED (no second call)", *failed]
                second = await r.boundary.call(argv)
        steps, cached, hits = remote_hits(second.value if second.ok else "")
        ok = second.ok and every_step_a_remote_hit(second.value)
        lines = ["first call: passed", *(f"  | {x}" for x in result_lines(first) if _tail(x))]
        lines += ["second call:", *(f"  | {x}" for x in result_lines(second))]
        lines.append(
            f"every step restored from the remote cache: {'yes' if ok else 'NO'} "
            f"({hits} remote hits, {cached} cached, of {steps} steps)"
        )
        return ok, lines

    return await timed("ci --all --cache-url ..., twice", body)


def _tail(line: str) -> bool:
    return bool(_STEPS.match(line) or _HITS.match(line))
