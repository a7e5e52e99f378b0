"""The engine's cache of module function calls, modelled (engine v0.21, branch backport-0.21).

A module function's call is itself a cached operation of the engine (dagql/cache.go,
GetOrInitCall). Its key is the call's identity: the module (core/object.go, spec.Module), the
receiver (the parent object, itself the result of its constructor's call), the function and
its arguments, an object argument by its content digest and a secret by a salted hash of its
value (core/secret.go, SecretHandleFromPlaintext: argon2id under the engine's own salt). Each
function's cache policy adds an implicit input (core/modfunc.go, cacheImplicitInputs):

- Default: none. The result is kept, persisted, for the function's time to live, 7 days
  unless it set one (core/typedef.go, FieldSpec; core/modfunc.go, MaxFunctionCacheTTLSeconds),
  so an identical call replays it whole, in any later session;
- PerSession: the session's ID (dagql/cache_inputs.go, PerSessionInput): replayed within one
  `dagger call`, never across two;
- Never: a random value per call (PerCallInput): never replayed.

A call that fails is never kept: the waiters of that one call get its error, the next call
runs again (dagql/cache.go, wait: a completion error returns before initCompletedResult).
The rehearsal's engine lives as long as one rehearsal, so "kept for 7 days" means kept until
it ends. This module is the pure model; rehearsal/boundary.py applies it to each call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from acme_ci.rehearsal.typedefs import FunctionDef

Policy = Literal["Default", "PerSession", "Never"]
MAX_TTL_SECONDS = 7 * 24 * 60 * 60  # core/modfunc.go, MaxFunctionCacheTTLSeconds
MIN_TTL_SECONDS = 1  # MinFunctionCacheTTLSeconds
# engine/version.go: modules declaring an older engine keep the old per-session caching.
DEFAULT_CACHING_SINCE = (0, 19, 4)
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


class CachePolicyError(Exception):
    """A cache policy the engine refuses at registration (a bad time to live)."""


@dataclass(frozen=True)
class CacheRule:
    """A function's effective policy, and how long a Default result is kept."""

    policy: Policy
    ttl_seconds: int = MAX_TTL_SECONDS


def go_duration_seconds(text: str) -> float:
    """Go's time.ParseDuration ("90s", "1h30m", "0"), in seconds."""
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    parts = _DURATION_PART.findall(body)
    if not body or "".join(number + unit for number, unit in parts) != body:
        raise CachePolicyError(f"time: invalid duration {text!r}")
    return sign * sum(float(number) * _UNITS[unit] for number, unit in parts)


def module_default_caching(dagger_json: Mapping[str, Any]) -> bool:
    """Whether the module's Default policy caches across sessions (core/schema/modulesource.go:
    an explicit `disableDefaultFunctionCaching`, else engineVersion >= v0.19.4)."""
    explicit = dagger_json.get("disableDefaultFunctionCaching")
    if explicit is not None:
        return not explicit
    version = str(dagger_json.get("engineVersion", "")).lstrip("v").split("-")[0]
    numbers = tuple(int(p) for p in version.split(".") if p.isdigit())
    return numbers >= DEFAULT_CACHING_SINCE


def cache_rule(function: FunctionDef, default_caching: bool = True) -> CacheRule:
    """The policy the engine applies to `function` (core/schema/module.go,
    functionWithCachePolicy; core/typedef.go, derivedCachePolicy)."""
    policy = function.cache_policy or "Default"
    if policy not in ("Default", "PerSession", "Never"):
        raise CachePolicyError(f"{function.name}: unknown cache policy {policy!r}")
    ttl = MAX_TTL_SECONDS
    if function.time_to_live is not None:
        if policy != "Default":
            raise CachePolicyError("time to live can only be set with default cache policy")
        seconds = go_duration_seconds(function.time_to_live)
        if seconds == 0:
            return CacheRule("Never")  # "a TTL of 0 sounds an awful lot like never cache"
        if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
            raise CachePolicyError(
                f"{function.name}: time to live {function.time_to_live!r} is outside 1s..168h"
            )
        ttl = int(seconds)
    if policy == "Default":
        return CacheRule("Default", ttl) if default_caching else CacheRule("PerSession")
    return CacheRule("PerSession") if policy == "PerSession" else CacheRule("Never")


@dataclass(frozen=True)
class SecretKeys:
    """How the engine keys a secret: a hash of its value salted with the engine's own salt
    (argon2id there; an HMAC here: the same values meet, the value cannot be read back)."""

    salt: bytes = field(default_factory=lambda: uuid.uuid4().bytes, repr=False)

    def key(self, plaintext: bytes) -> str:
        return "secret:" + hmac.new(self.salt, plaintext, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CallIdentity:
    """What identifies a function call to the engine, every object already reduced to its
    content digest and every secret to its salted hash."""

    module: str
    parent: str
    function: str
    args: Mapping[str, str]


def call_key(identity: CallIdentity, rule: CacheRule, session: str) -> str:
    """The call's cache key, with the implicit input its policy adds."""
    implicit = {"Default": "", "PerSession": f"session:{session}", "Never": uuid.uuid4().hex}
    text = json.dumps(
        [
            identity.module,
            identity.parent,
            identity.function,
            sorted(identity.args.items()),
            implicit[rule.policy],
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Kept:
    value: Any
    expires: float
    session: str | None


class FunctionCache:
    """The results the engine keeps, by call key; `clock` in seconds (a test's own)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._kept: dict[str, Kept] = {}

    def lookup(self, key: str) -> tuple[bool, Any]:
        """(True, the kept result) for a key the engine would replay, else (False, None)."""
        kept = self._kept.get(key)
        if kept is None or kept.expires <= self._clock():
            self._kept.pop(key, None)
            return False, None
        return True, kept.value

    def record(self, key: str, rule: CacheRule, session: str, value: Any, failed: bool) -> None:
        """A finished call: kept per its rule, unless it failed (an error is never kept)."""
        if failed or rule.policy == "Never":
            return
        owner = session if rule.policy == "PerSession" else None
        self._kept[key] = Kept(value, self._clock() + rule.ttl_seconds, owner)

    def end_session(self, session: str) -> None:
        """The session closed: what it alone kept (PerSession results) is released."""
        for key in [k for k, kept in self._kept.items() if kept.session == session]:
            del self._kept[key]
