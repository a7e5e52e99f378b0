"""The remote step cache's rules: where an entry lives, which scopes a run reads and writes,
and how an entry is signed and checked. No I/O: acme_ci.entries moves the bytes.

Trust scopes work like GitHub's cache: a run writes only to its own scope (its branch) and
reads its own scope, then the default branch's. The default branch's scope is written only
by runs on that branch, never by a pull request; a fork's pull request only reads.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# Object metadata (x-amz-meta-*) carrying the entry's checks.
SIGNATURE_FIELD = "acme-signature"
DIGEST_FIELD = "acme-sha256"
_SIGNING_CONTEXT = b"acme-ci step cache v1\0"


class RemoteCacheError(Exception):
    """The remote cache is configured wrongly (bad URL, contradictory scopes)."""


@dataclass(frozen=True)
class RemoteLocation:
    """An S3 bucket and the key prefix every entry goes under."""

    bucket: str
    prefix: str

    def object_key(self, scope: str, key: str) -> str:
        """Where the entry of step `key` lives in `scope` (a branch name may hold '/')."""
        parts = [self.prefix] if self.prefix else []
        return "/".join([*parts, quote(scope, safe=""), f"{key}.tar.gz"])

    def without_bucket(self) -> str:
        """The location for a summary where the URL is a secret: the bucket left out."""
        return f"s3://(bucket hidden)/{self.prefix}".rstrip("/")


def parse_cache_url(url: str) -> RemoteLocation:
    """`s3://BUCKET[/PREFIX]` as a location; RemoteCacheError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise RemoteCacheError(
            f"cache URL {url!r}: expected s3://BUCKET/PREFIX (set --cache-url or ACME_CACHE_URL)"
        )
    return RemoteLocation(parts.netloc, parts.path.strip("/"))


@dataclass(frozen=True)
class ScopePolicy:
    """The scopes a run reads (in order) and the one it writes (None: read-only, and why)."""

    read: tuple[str, ...]
    write: str | None
    read_only_because: str | None = None

    def describe(self) -> str:
        written = self.write if self.write is not None else f"nothing ({self.read_only_because})"
        return f"reads {', '.join(self.read)}; writes {written}"


class ScopeSettings:
    """What a remote cache's settings say about scopes, and the policy that follows.

    Both shells' settings (acme_ci.native.remote_cache.RemoteSettings and
    acme_ci.dagger.cache_options.CacheOptions) are dataclasses that declare these fields.
    """

    scope: str
    default_scope: str
    read_only: bool
    pull_request: bool
    # GitHub's event payload tells the native shell; on Dagger the workflow passes
    # --cache-read-only for a fork instead, so its settings leave this False.
    fork: bool = False

    def policy(self) -> ScopePolicy:
        """The scopes this run reads and the one it writes."""
        return scope_policy(
            self.scope,
            self.default_scope,
            pull_request=self.pull_request,
            fork=self.fork,
            read_only=self.read_only,
        )


def scope_policy(
    scope: str,
    default_scope: str,
    *,
    pull_request: bool = False,
    fork: bool = False,
    read_only: bool = False,
) -> ScopePolicy:
    """Which scopes a run on `scope` may read and write."""
    if not scope or not default_scope:
        raise RemoteCacheError(
            "cache scopes must not be empty (--cache-scope, --cache-default-scope)"
        )
    read = (scope,) if scope == default_scope else (scope, default_scope)
    if read_only:
        return ScopePolicy(read, None, "--cache-read-only")
    if fork:
        return ScopePolicy(read, None, "a pull request from a fork only reads")
    if pull_request and scope == default_scope:
        return ScopePolicy(
            read, None, f"a pull request never writes the default branch's scope {default_scope!r}"
        )
    return ScopePolicy(read, scope)


def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def sign(secret: bytes, key: str, content: bytes) -> str:
    """HMAC-SHA256 over the step key and the entry's bytes: an entry is bound to its key."""
    message = _SIGNING_CONTEXT + key.encode() + b"\0" + content
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def entry_metadata(key: str, content: bytes, secret: bytes | None) -> dict[str, str]:
    """The metadata stored with an entry: its digest, and its signature when a key is set."""
    metadata = {DIGEST_FIELD: content_digest(content)}
    if secret is not None:
        metadata[SIGNATURE_FIELD] = sign(secret, key, content)
    return metadata


def entry_problem(
    key: str, content: bytes, metadata: dict[str, str], secret: bytes | None
) -> str | None:
    """Why a fetched entry must not be used (None: it may).

    With a signing key, an entry needs a valid signature; without one, its digest must match
    (a truncated or damaged body is never restored).
    """
    if secret is not None:
        signature = metadata.get(SIGNATURE_FIELD)
        if not signature:
            return "no signature (ACME_CACHE_SIGNING_KEY is set: unsigned entries are not used)"
        if not hmac.compare_digest(signature, sign(secret, key, content)):
            return "wrong signature (tampered, or signed with another key)"
        return None
    digest = metadata.get(DIGEST_FIELD)
    if digest is None or not hmac.compare_digest(digest, content_digest(content)):
        return "content does not match its digest (damaged or incomplete)"
    return None
