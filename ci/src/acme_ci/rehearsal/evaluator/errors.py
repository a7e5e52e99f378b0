"""Failures in the shape dagger-io raises them: a `QueryError`, an `ExecError` for an exec
(dagger-io turns a query error whose `_type` is EXEC_ERROR into one)."""

from __future__ import annotations

from typing import Any

import dagger
from dagger._exceptions import QueryErrorValue
from gql import gql

from acme_ci.rehearsal.evaluator.output import error_output
from acme_ci.rehearsal.evaluator.values import ExecResult


def query_error(message: str, **extensions: Any) -> dagger.QueryError:
    return dagger.QueryError(
        [QueryErrorValue(message, extensions=extensions)], gql("{ rehearsal }")
    )


def exec_error(result: ExecResult) -> dagger.QueryError:
    """The engine's EXEC_ERROR (core/exec_error.go): its message holds no output; its
    `stdout` and `stderr` extensions hold each stream's last 100 KiB, trimmed."""
    return query_error(
        f"process {list(result.argv)!r} did not complete successfully: exit code: {result.code}",
        _type="EXEC_ERROR",
        cmd=list(result.argv),
        exitCode=result.code,
        stdout=error_output(result.stdout),
        stderr=error_output(result.stderr),
    )


def unmodelled(type_name: str, field_name: str) -> dagger.QueryError:
    return query_error(f"the rehearsal does not model {type_name}.{field_name}")
