"""The engine's function cache as the rehearsal models it: which identical call is replayed.

Pure: no podman, no SDK. The policies, time to live and keys follow the engine's source
(engine v0.21: core/modfunc.go, core/typedef.go, core/schema/module.go, dagql/cache.go).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from acme_ci.rehearsal.function_cache import (
    MAX_TTL_SECONDS,
    CachePolicyError,
    CacheRule,
    CallIdentity,
    FunctionCache,
    SecretKeys,
    cache_rule,
    call_key,
    go_duration_seconds,
    module_default_caching,
)
from acme_ci.rehearsal.typedefs import FunctionDef, TypeRef

CI = CallIdentity("module-digest", '{"source": "tree-1"}', "ci", {"all": "true"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def function(policy: str | None = None, ttl: str | None = None) -> FunctionDef:
    return FunctionDef("ci", TypeRef("String"), cache_policy=policy, time_to_live=ttl)


def replays(cache: FunctionCache, identity: CallIdentity, rule: CacheRule, session: str) -> bool:
    return cache.lookup(call_key(identity, rule, session))[0]


def run(cache: FunctionCache, identity: CallIdentity, rule: CacheRule, session: str) -> None:
    cache.record(call_key(identity, rule, session), rule, session, "summary", failed=False)


def test_a_default_cached_call_is_replayed_in_a_later_session_until_its_ttl() -> None:
    clock = Clock()
    cache = FunctionCache(clock)
    rule = cache_rule(function())
    assert rule == CacheRule("Default", MAX_TTL_SECONDS)
    assert not replays(cache, CI, rule, "first")
    run(cache, CI, rule, "first")
    cache.end_session("first")
    assert cache.lookup(call_key(CI, rule, "second")) == (True, "summary")
    clock.now += MAX_TTL_SECONDS
    assert not replays(cache, CI, rule, "third")


def test_a_function_s_own_ttl_bounds_its_replay() -> None:
    clock = Clock()
    cache = FunctionCache(clock)
    rule = cache_rule(function("Default", "1h30m"))
    assert rule.ttl_seconds == 5400
    run(cache, CI, rule, "first")
    clock.now += 5399
    assert replays(cache, CI, rule, "second")
    clock.now += 1
    assert not replays(cache, CI, rule, "second")


def test_a_session_cached_call_is_replayed_within_its_session_only() -> None:
    cache = FunctionCache(Clock())
    rule = cache_rule(function("PerSession"))
    run(cache, CI, rule, "one")
    assert replays(cache, CI, rule, "one")
    assert not replays(cache, CI, rule, "two")
    cache.end_session("one")
    assert not replays(cache, CI, rule, "one")


def test_a_never_cached_call_is_never_replayed_even_in_its_own_session() -> None:
    cache = FunctionCache(Clock())
    rule = cache_rule(function("Never"))
    assert call_key(CI, rule, "one") != call_key(CI, rule, "one")  # a per-call input
    run(cache, CI, rule, "one")
    assert not replays(cache, CI, rule, "one")


def test_a_failed_call_is_never_kept() -> None:
    cache = FunctionCache(Clock())
    rule = cache_rule(function())
    key = call_key(CI, rule, "one")
    cache.record(key, rule, "one", "FunctionError: pipeline failed", failed=True)
    assert cache.lookup(key) == (False, None)


def test_a_changed_source_parent_or_argument_is_another_call() -> None:
    cache = FunctionCache(Clock())
    rule = cache_rule(function())
    run(cache, CI, rule, "one")
    assert not replays(cache, replace(CI, module="module-digest-2"), rule, "two")
    assert not replays(cache, replace(CI, parent='{"source": "tree-2"}'), rule, "two")
    assert not replays(cache, replace(CI, args={"all": "false"}), rule, "two")
    assert not replays(cache, replace(CI, function="plan"), rule, "two")
    # The arguments' order is not part of the call.
    two = replace(CI, args={"all": "true", "jobs": "2"})
    run(cache, two, rule, "one")
    assert replays(cache, replace(CI, args={"jobs": "2", "all": "true"}), rule, "two")


def test_a_secret_is_keyed_by_its_salted_value_whatever_its_name() -> None:
    keys = SecretKeys()
    same = keys.key(b"s3://bucket/prefix")
    assert keys.key(b"s3://bucket/prefix") == same  # env:A and env:B holding one value
    assert keys.key(b"s3://bucket/other") != same
    assert "bucket" not in same
    assert SecretKeys().key(b"s3://bucket/prefix") != same  # another engine, another salt
    cache = FunctionCache(Clock())
    rule = cache_rule(function())
    with_secret = replace(CI, args={"cache_url": same})
    run(cache, with_secret, rule, "one")
    assert replays(
        cache, replace(CI, args={"cache_url": keys.key(b"s3://bucket/prefix")}), rule, "2"
    )
    assert not replays(cache, replace(CI, args={"cache_url": keys.key(b"s3://b/x")}), rule, "2")


def test_ttl_rules_as_the_engine_registers_them() -> None:
    assert go_duration_seconds("90s") == 90
    assert go_duration_seconds("1h30m") == 5400
    assert go_duration_seconds("1.5h") == 5400
    assert cache_rule(function("Default", "0s")) == CacheRule("Never")
    with pytest.raises(CachePolicyError):
        cache_rule(function("Default", "169h"))
    with pytest.raises(CachePolicyError):
        cache_rule(function("Default", "500ms"))
    with pytest.raises(CachePolicyError):
        cache_rule(function("PerSession", "1h"))
    with pytest.raises(CachePolicyError):
        go_duration_seconds("ten minutes")


def test_a_module_declaring_an_old_engine_caches_per_session() -> None:
    assert module_default_caching({"engineVersion": "v0.21.11"})
    assert not module_default_caching({"engineVersion": "v0.19.3"})
    assert not module_default_caching(
        {"engineVersion": "v0.21.11", "disableDefaultFunctionCaching": True}
    )
    assert cache_rule(function(), default_caching=False) == CacheRule("PerSession")
    assert cache_rule(function("Never"), default_caching=False) == CacheRule("Never")
