"""The remote cache's rules without a store: where entries live, who may write where, and
which fetched entries are refused. Fast companions of test_remote_cache.py (which drives
whole runs against a moto S3 server), added for mutation testing (bench/mutation.py).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import pytest

from acme_ci.core.remote_cache import (
    DIGEST_FIELD,
    SIGNATURE_FIELD,
    RemoteCacheError,
    RemoteLocation,
    ScopePolicy,
    ScopeSettings,
    entry_metadata,
    entry_problem,
    parse_cache_url,
    scope_policy,
    sign,
)

KEY = "ab" * 32
BODY = b"packed entry bytes"


def test_cache_urls_name_a_bucket_and_an_optional_prefix() -> None:
    assert parse_cache_url("s3://bucket") == RemoteLocation("bucket", "")
    assert parse_cache_url("s3://bucket/") == RemoteLocation("bucket", "")
    assert parse_cache_url("s3://bucket/ci/cache/") == RemoteLocation("bucket", "ci/cache")
    for bad in ("https://bucket/x", "s3:///prefix", "bucket/prefix", ""):
        with pytest.raises(RemoteCacheError) as error:
            parse_cache_url(bad)
        assert str(error.value) == (
            f"cache URL {bad!r}: expected s3://BUCKET/PREFIX (set --cache-url or ACME_CACHE_URL)"
        )


def test_a_location_can_be_shown_without_its_bucket() -> None:
    """On Dagger the URL is a secret: the summary names the prefix only."""
    assert RemoteLocation("private", "ci/x").without_bucket() == "s3://(bucket hidden)/ci/x"
    assert RemoteLocation("private", "").without_bucket() == "s3://(bucket hidden)"


@dataclass(frozen=True)
class Settings(ScopeSettings):
    """Settings as a shell declares them; this one, like Dagger's, has no fork field."""

    scope: str
    default_scope: str
    read_only: bool = False
    pull_request: bool = False


@pytest.mark.parametrize(
    "settings",
    [
        Settings("feat", "main"),
        Settings("main", "main", pull_request=True),
        Settings("feat", "main", read_only=True),
        Settings("feat", "main", pull_request=True),
    ],
)
def test_a_shells_settings_give_the_policy_of_their_scope_fields(settings: Settings) -> None:
    assert settings.policy() == scope_policy(
        settings.scope,
        settings.default_scope,
        pull_request=settings.pull_request,
        read_only=settings.read_only,
    )


def test_an_entry_lives_under_its_scope_even_when_a_branch_has_slashes() -> None:
    assert RemoteLocation("b", "ci").object_key("feature/x", KEY) == f"ci/feature%2Fx/{KEY}.tar.gz"
    assert RemoteLocation("b", "").object_key("main", KEY) == f"main/{KEY}.tar.gz"


def test_a_branch_reads_its_own_scope_then_the_default_and_writes_its_own() -> None:
    branch = scope_policy("feat", "main")
    assert branch == ScopePolicy(("feat", "main"), "feat")
    assert branch.describe() == "reads feat, main; writes feat"
    default = scope_policy("main", "main")
    assert default == ScopePolicy(("main",), "main")
    assert scope_policy("12/merge", "main", pull_request=True) == ScopePolicy(
        ("12/merge", "main"), "12/merge"
    )


@pytest.mark.parametrize(
    ("kwargs", "scope", "why"),
    [
        ({"read_only": True}, "main", "--cache-read-only"),
        ({"read_only": True, "fork": True}, "feat", "--cache-read-only"),
        ({"fork": True, "pull_request": True}, "feat", "a pull request from a fork only reads"),
        (
            {"pull_request": True},
            "main",
            "a pull request never writes the default branch's scope 'main'",
        ),
    ],
)
def test_read_only_runs_say_why(kwargs: dict[str, bool], scope: str, why: str) -> None:
    policy = scope_policy(scope, "main", **kwargs)
    assert policy.write is None
    assert policy.read_only_because == why
    assert policy.describe().endswith(f"; writes nothing ({why})")


def test_empty_scopes_are_a_configuration_error() -> None:
    for scope, default in (("", "main"), ("feat", "")):
        with pytest.raises(RemoteCacheError) as error:
            scope_policy(scope, default)
        assert str(error.value) == (
            "cache scopes must not be empty (--cache-scope, --cache-default-scope)"
        )


def test_a_signed_entry_is_used_only_with_its_key_body_and_secret() -> None:
    metadata = entry_metadata(KEY, BODY, b"secret")
    assert set(metadata) == {DIGEST_FIELD, SIGNATURE_FIELD}
    assert entry_problem(KEY, BODY, metadata, b"secret") is None
    wrong = "wrong signature (tampered, or signed with another key)"
    assert entry_problem(KEY, BODY + b"!", metadata, b"secret") == wrong
    assert entry_problem("cd" * 32, BODY, metadata, b"secret") == wrong
    assert entry_problem(KEY, BODY, metadata, b"other secret") == wrong
    # The key and the body are bound apart: moving bytes between them breaks the signature.
    assert sign(b"s", "ab", b"c") != sign(b"s", "a", b"bc")
    assert len(sign(b"s", KEY, BODY)) == 64


def test_with_a_secret_an_unsigned_entry_is_refused() -> None:
    unsigned = entry_metadata(KEY, BODY, None)
    assert set(unsigned) == {DIGEST_FIELD}
    assert entry_problem(KEY, BODY, unsigned, b"secret") == (
        "no signature (ACME_CACHE_SIGNING_KEY is set: unsigned entries are not used)"
    )
    empty = {**unsigned, SIGNATURE_FIELD: ""}
    assert entry_problem(KEY, BODY, empty, b"secret") == entry_problem(
        KEY, BODY, unsigned, b"secret"
    )


def test_without_a_secret_the_digest_must_match() -> None:
    metadata = entry_metadata(KEY, BODY, None)
    assert entry_problem(KEY, BODY, metadata, None) is None
    assert entry_problem(KEY, BODY, entry_metadata(KEY, BODY, b"secret"), None) is None
    damaged = "content does not match its digest (damaged or incomplete)"
    assert entry_problem(KEY, BODY[:-1], metadata, None) == damaged
    assert entry_problem(KEY, BODY, {}, None) == damaged


def test_only_the_slashes_around_a_prefix_are_dropped() -> None:
    assert parse_cache_url("s3://bucket//X-ray/ci.X//") == RemoteLocation("bucket", "X-ray/ci.X")


def test_the_signature_format_is_stable_across_releases() -> None:
    """HMAC-SHA256 of the context, the step key, a NUL, then the entry's bytes.

    Entries outlive the acme-ci that signed them: a format that changes without a new
    context (v2) refuses every stored entry as "wrong signature" once runners upgrade.
    """
    message = b"acme-ci step cache v1\0" + KEY.encode() + b"\0" + BODY
    expected = hmac.new(b"secret", message, hashlib.sha256).hexdigest()
    assert sign(b"secret", KEY, BODY) == expected
    assert entry_metadata(KEY, BODY, b"secret")[SIGNATURE_FIELD] == expected
