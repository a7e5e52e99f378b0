"""The remote step cache on S3 (boto3): fetch and store packed entries, never fail a run.

Configured by `--cache-url s3://BUCKET/PREFIX` (or ACME_CACHE_URL); credentials, region and
endpoint come from boto3's own configuration (acme_ci.entries.s3 moves the objects). An
entry is one object, written with a single PUT: two runs writing the same key both write a
complete entry for the same inputs, and a reader sees one of them whole.

Every call has a connect and a read timeout. A store that cannot be reached, is too slow or
denies access makes the cache give up for the rest of the run (`skipped` says why): the
steps run, and the run's outcome depends only on them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acme_ci.core.remote_cache import (
    RemoteCacheError,
    RemoteLocation,
    ScopeSettings,
    entry_problem,
    parse_cache_url,
)
from acme_ci.entries.s3 import CONNECT_TIMEOUT, READ_TIMEOUT, get_entry, put_entry, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class RemoteSettings(ScopeSettings):
    """What the CLI flags and the environment say about the remote cache (its scope fields
    give `policy()`, as on Dagger)."""

    url: str
    scope: str
    default_scope: str
    read_only: bool = False
    pull_request: bool = False
    fork: bool = False
    signing_key: bytes | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT


def settings_from(
    env: Mapping[str, str],
    *,
    url: str | None,
    scope: str | None,
    default_scope: str | None,
    read_only: bool,
    branch: str | None,
    event: Mapping[str, Any] | None = None,
) -> RemoteSettings | None:
    """Flags first, then ACME_CACHE_* variables, then GitHub's; None when no URL is set.

    Without --cache-scope the scope is GitHub's ref name (a pull request's is `N/merge`, so
    it can never pose as a branch), else the checked-out branch. A pull request from a
    fork (GitHub's event payload says so) only reads.
    """
    url = url or env.get("ACME_CACHE_URL")
    if not url:
        return None
    parse_cache_url(url)  # a bad URL is a usage error now, not a skipped cache later
    scope = scope or env.get("ACME_CACHE_SCOPE") or env.get("GITHUB_REF_NAME") or branch
    if not scope:
        raise RemoteCacheError("no cache scope: pass --cache-scope BRANCH or set ACME_CACHE_SCOPE")
    pull_request = env.get("GITHUB_EVENT_NAME", "") in ("pull_request", "pull_request_target")
    head_repo = ((event or {}).get("pull_request") or {}).get("head", {}).get("repo") or {}
    fork = pull_request and bool(
        head_repo.get("fork")
        or head_repo.get("full_name", env.get("GITHUB_REPOSITORY")) != env.get("GITHUB_REPOSITORY")
    )
    key = env.get("ACME_CACHE_SIGNING_KEY")
    return RemoteSettings(
        url=url,
        scope=scope,
        default_scope=default_scope or env.get("ACME_CACHE_DEFAULT_SCOPE") or "main",
        read_only=read_only or env.get("ACME_CACHE_READ_ONLY", "").lower() in _TRUE,
        pull_request=pull_request,
        fork=fork,
        signing_key=key.encode() if key else None,
        connect_timeout=_seconds(env, "ACME_CACHE_CONNECT_TIMEOUT", CONNECT_TIMEOUT),
        read_timeout=_seconds(env, "ACME_CACHE_READ_TIMEOUT", READ_TIMEOUT),
    )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A timeout variable: a number of seconds above 0, else a RemoteCacheError naming it."""
    text = env.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise RemoteCacheError(f"{name} must be a number of seconds above 0, not {text!r}")
    return value


@dataclass(frozen=True)
class Fetched:
    content: bytes
    scope: str


class RemoteCache:
    """Fetch and store packed entries under the scopes `settings` allow."""

    def __init__(self, settings: RemoteSettings, client: S3Client | None = None) -> None:
        self.settings = settings
        self.location: RemoteLocation = parse_cache_url(settings.url)
        self.policy = settings.policy()
        self._client = client
        self._lock = threading.Lock()
        self.skipped: str | None = None
        self.problems: list[str] = []

    def describe(self) -> str:
        return f"{self.settings.url} ({self.policy.describe()})"

    def client(self) -> S3Client:
        with self._lock:
            if self._client is None:
                self._client = s3_client(self.settings.connect_timeout, self.settings.read_timeout)
            return self._client

    def fetch(self, key: str, step_id: str) -> Fetched | None:
        """The first usable entry for `key` among the readable scopes, None on a miss."""
        for scope in self.policy.read:
            if self.skipped is not None:
                return None
            found = self._get(scope, key)
            if found is None:
                continue
            content, metadata = found
            problem = entry_problem(key, content, metadata, self.settings.signing_key)
            if problem is None:
                return Fetched(content, scope)
            self.problems.append(
                f"remote cache entry {key[:12]} for {step_id} in scope {scope!r} not used: "
                f"{problem}; the step runs"
            )
        return None

    def store(self, key: str, content: bytes) -> int:
        """Upload an entry to the writable scope; the bytes sent (0: read-only or skipped)."""
        scope = self.policy.write
        if scope is None or self.skipped is not None:
            return 0
        try:
            put_entry(self.client(), self.location, scope, key, content, self.settings.signing_key)
        except Exception as error:  # any store failure: give up the remote, keep the run
            self._give_up("store", error)
            return 0
        return len(content)

    def _get(self, scope: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        try:
            return get_entry(self.client(), self.location, scope, key)
        except Exception as error:  # a miss is None; anything else gives up the remote
            self._give_up("lookup", error)
            return None

    def _give_up(self, action: str, error: Exception) -> None:
        with self._lock:
            if self.skipped is None:
                self.skipped = (
                    f"remote cache skipped from the first failed {action} on: "
                    f"{type(error).__name__}: {error}"
                )
