"""The `ci-cache` rehearsal's verdict: the second `ci` restored every step from the remote
cache, read from the summary the core writes (no podman, no S3 here)."""

from __future__ import annotations

from acme_ci.core.plan import Plan
from acme_ci.core.scheduler import RunResult, StepResult
from acme_ci.core.summary import summary_text
from acme_ci.rehearsal.remote_cache_check import (
    CACHE_URL,
    SECRET_ENV,
    cache_flags,
    every_step_a_remote_hit,
    remote_hits,
)
from acme_ci.rehearsal.typedefs import ArgDef, FunctionDef, TypeRef

STEPS = ("acme-logger:lint", "acme-logger:test", "acme-logger:build")


def summary(*results: StepResult, remote: bool = True) -> str:
    run = RunResult(
        Plan(()),
        results,
        12.0,
        runner="dagger",
        remote_cache="s3://bucket/steps (reads main, writes main)" if remote else None,
    )
    return summary_text(run)


def test_a_second_call_restored_from_the_remote_cache_passes() -> None:
    hits = [StepResult(s, "cached", cache_source="remote", cache_bytes=900) for s in STEPS]
    assert remote_hits(summary(*hits)) == (3, 3, 3)
    assert every_step_a_remote_hit(summary(*hits))


def test_a_replayed_first_call_or_a_partial_restore_fails() -> None:
    # What a default-cached `ci` gives back on its second call: the first call's summary.
    first = [StepResult(s, "passed", duration=2.0, cache_bytes=900) for s in STEPS]
    assert remote_hits(summary(*first)) == (3, 0, 0)
    assert not every_step_a_remote_hit(summary(*first))
    partial = [
        StepResult(STEPS[0], "passed"),
        *(StepResult(s, "cached", cache_source="remote") for s in STEPS[1:]),
    ]
    assert not every_step_a_remote_hit(summary(*partial))
    local = [StepResult(s, "cached", cache_source="local") for s in STEPS]
    assert not every_step_a_remote_hit(summary(*local))
    assert not every_step_a_remote_hit(summary(*first, remote=False))
    assert not every_step_a_remote_hit("")


def ci_with(url_type: str, *credentials: str) -> FunctionDef:
    args = [ArgDef("cache_url", TypeRef(url_type))]
    args += [ArgDef(name, TypeRef("Secret", optional=True), "null") for name in credentials]
    return FunctionDef("ci", TypeRef("String"), tuple(args))


def test_the_cache_flags_follow_what_ci_registers() -> None:
    as_secret = cache_flags(
        ci_with("Secret", "cache_aws_access_key_id", "cache_aws_secret_access_key")
    )
    assert as_secret[:2] == ["--cache-url", "env:ACME_REHEARSAL_CACHE_URL"]
    assert "--cache-aws-access-key-id" in as_secret
    as_text = cache_flags(ci_with("String", "aws_access_key_id", "aws_secret_access_key"))
    assert as_text[:2] == ["--cache-url", CACHE_URL]
    assert "--aws-secret-access-key" in as_text
    # Credentials cross the command line by name only, as `dagger call` users pass them.
    assert not set(SECRET_ENV.values()) & set(as_secret + as_text) - {CACHE_URL}
