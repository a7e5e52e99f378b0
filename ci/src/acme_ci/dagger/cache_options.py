"""The `--cache-*` arguments `ci` and `cd` share, and the remote cache they ask for.

Each argument is typed and documented once, here, so the two functions' `dagger call` flags
cannot drift apart. The cache URL is a secret (`--cache-url env:ACME_CACHE_URL`): it is
parsed here, passed on only as a secret variable, and never shown: the summary names the
prefix with the bucket hidden. An optional secret given empty (GitHub passes an undefined
secret as an empty variable, acme_ci.dagger.secret_args) counts as not given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias

import dagger
from dagger import Doc

from acme_ci.core.remote_cache import (
    RemoteCacheError,
    RemoteLocation,
    ScopeSettings,
    parse_cache_url,
)
from acme_ci.dagger.secret_args import given

CacheUrlArg: TypeAlias = Annotated[
    dagger.Secret | None,
    Doc("Remote step cache: a secret holding s3://BUCKET/PREFIX (env:NAME...); empty: none"),
]
CacheScopeArg: TypeAlias = Annotated[
    str, Doc("The run's cache scope (its branch): written, then read before the default's")
]
CacheDefaultScopeArg: TypeAlias = Annotated[str, Doc("The default branch's scope")]
CacheReadOnlyArg: TypeAlias = Annotated[bool, Doc("Read the cache, never write (forks)")]
CachePullRequestArg: TypeAlias = Annotated[
    bool, Doc("A pull request: never writes the default branch's scope")
]
CacheSigningKeyArg: TypeAlias = Annotated[
    dagger.Secret | None, Doc("HMAC key: sign entries, use only signed ones; empty: none")
]
CacheEndpointUrlArg: TypeAlias = Annotated[str, Doc("S3 endpoint of the cache; empty: AWS")]
CacheRegionArg: TypeAlias = Annotated[str, Doc("AWS region of the cache bucket")]
CacheAwsAccessKeyIdArg: TypeAlias = Annotated[
    dagger.Secret | None, Doc("The cache's AWS_ACCESS_KEY_ID; empty: boto3's own configuration")
]
CacheAwsSecretAccessKeyArg: TypeAlias = Annotated[
    dagger.Secret | None, Doc("The cache's AWS_SECRET_ACCESS_KEY")
]
# The parameter names of those arguments, in cache_options' order.
CACHE_ARGUMENTS = (
    "cache_url",
    "cache_scope",
    "cache_default_scope",
    "cache_read_only",
    "cache_pull_request",
    "cache_signing_key",
    "cache_endpoint_url",
    "cache_region",
    "cache_aws_access_key_id",
    "cache_aws_secret_access_key",
)


@dataclass(frozen=True)
class CacheOptions(ScopeSettings):
    """The remote cache of a run: where (the URL, a secret, and what it names), its scopes,
    its credentials, and what the summary must say of empty optional secrets."""

    url: dagger.Secret
    location: RemoteLocation
    scope: str
    default_scope: str = "main"
    read_only: bool = False
    pull_request: bool = False
    endpoint_url: str = ""
    region: str = ""
    aws_access_key_id: dagger.Secret | None = None
    aws_secret_access_key: dagger.Secret | None = None
    signing_key: dagger.Secret | None = None
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """Where the cache is, without the URL, and the scopes read and written."""
        return f"{self.location.without_bucket()} ({self.policy().describe()})"


async def cache_options(
    url: dagger.Secret | None,
    scope: str,
    default_scope: str,
    read_only: bool,
    pull_request: bool,
    signing_key: dagger.Secret | None,
    endpoint_url: str,
    region: str,
    aws_access_key_id: dagger.Secret | None,
    aws_secret_access_key: dagger.Secret | None,
) -> CacheOptions | None:
    """The cache the `--cache-*` arguments ask for (in their order); None without a URL or
    with an empty one. RemoteCacheError, before anything runs, for a URL that is not
    s3://BUCKET[/PREFIX], an empty scope, or one credential without the other."""
    text = await url.plaintext() if url is not None else ""
    if url is None or not text:
        return None
    try:
        location = parse_cache_url(text)
    except RemoteCacheError:
        # `from None`: the parser's message quotes the value, a secret.
        raise RemoteCacheError(
            "--cache-url: its value is not s3://BUCKET/PREFIX (a secret: not shown)"
        ) from None
    key_id, secret_key = await given(aws_access_key_id), await given(aws_secret_access_key)
    if (key_id is None) != (secret_key is None):
        raise RemoteCacheError(
            "pass both --cache-aws-access-key-id and --cache-aws-secret-access-key, or "
            "neither (an empty one counts as left out)"
        )
    key = await given(signing_key)
    notes = []
    if key is None and signing_key is not None:
        notes.append(
            "remote cache: --cache-signing-key is empty, so not used: entries are stored "
            "unsigned, and an entry is used when its content matches its digest"
        )
    if key_id is None and aws_access_key_id is not None:
        notes.append(
            "remote cache: the --cache-aws-* keys are empty, so not used: boto3 looks for "
            "credentials of its own"
        )
    options = CacheOptions(
        url=url,
        location=location,
        scope=scope,
        default_scope=default_scope,
        read_only=read_only,
        pull_request=pull_request,
        endpoint_url=endpoint_url,
        region=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret_key,
        signing_key=key,
        notes=tuple(notes),
    )
    options.policy()  # RemoteCacheError for an empty scope
    return options


async def cache_from(arguments: Mapping[str, Any]) -> CacheOptions | None:
    """The cache a function's `--cache-*` arguments ask for, read by their names from its
    arguments (its `locals()`): each function declares the flags itself, for `dagger call`,
    and none can hand them on in another order."""
    return await cache_options(*(arguments[name] for name in CACHE_ARGUMENTS))
