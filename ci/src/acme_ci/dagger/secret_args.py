"""Secret arguments as `dagger call` delivers them: an unset variable is an empty secret.

The CLI reads `env:NAME` with os.LookupEnv and refuses only an unset variable
(engine/client/secretprovider/env.go): a variable set to "" is a secret whose value is "".
GitHub Actions passes a secret the repository does not define as exactly that, an empty
variable. So a required secret is checked for an empty value before anything runs, and an
optional one given empty counts as not given. A value is read here only to test whether it
is empty, and never shown.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagger


class EmptySecretError(Exception):
    """Secret arguments were given empty values; the message names each flag."""


async def is_empty(secret: dagger.Secret) -> bool:
    return not await secret.plaintext()


async def given(secret: dagger.Secret | None) -> dagger.Secret | None:
    """An optional secret: None when it is left out or empty."""
    if secret is None or await is_empty(secret):
        return None
    return secret


async def refuse_empty(secrets: Mapping[str, dagger.Secret | None]) -> None:
    """EmptySecretError naming every flag (the keys) given an empty secret."""
    empty = [
        flag for flag, secret in secrets.items() if secret is not None and await is_empty(secret)
    ]
    if empty:
        raise EmptySecretError(
            f"{', '.join(empty)}: empty (an unset variable behind env:NAME, e.g. a GitHub "
            "secret the repository does not define, arrives empty); nothing was run: set "
            "the value, or leave the flag out"
        )
