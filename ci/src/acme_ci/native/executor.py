"""The native shell's executor: a step's argv as subprocesses in the workspace venv, cached."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from acme_ci.core.entry_format import CachedResult
from acme_ci.core.plan import Step
from acme_ci.core.scheduler import StepResult
from acme_ci.entries import CorruptEntryError
from acme_ci.native.cache import Cache, FileHasher, step_key
from acme_ci.native.flakes import append_flakes

if TYPE_CHECKING:  # loaded only when a remote cache is configured (runner.run_native)
    from acme_ci.native.remote_cache import RemoteCache

TAIL_LINES = 40
STEP_TIMEOUT = 1800.0
MYPY_CACHE_TIMEOUT = 120.0


@dataclass
class NativeExecutor:
    """Runs steps under `root`; `cache` None means no lookup and no store (`--no-cache`)."""

    root: Path
    log_dir: Path
    hasher: FileHasher | None = None
    cache: Cache | None = None
    fingerprint: str = ""
    commit: str | None = None
    flake_record: Path | None = None
    # Behind the local cache: looked up on a local miss, stored to after a local store.
    remote: RemoteCache | None = None
    # A hung test must fail the run with a message, never hold CI until the runner dies.
    step_timeout: float = STEP_TIMEOUT
    warnings: list[str] = field(default_factory=list)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)

    def environment(self, step: Step) -> dict[str, str]:
        venv = self.root / ".venv"
        env = dict(os.environ)
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
        # One incremental mypy cache for every package's lint and every run: the stdlib and
        # the third-party stubs are analysed once, not once per package. It is mypy's sqlite
        # cache (its default), which commits module by module under sqlite's locks, so
        # concurrent steps share it; it is never part of a step's key (it makes mypy faster,
        # never changes its verdict).
        env.setdefault("MYPY_CACHE_DIR", str(self.root / ".acme" / "mypy-cache"))
        env.update(step.env)
        return env

    def prepare_mypy_cache(self, steps: Sequence[Step]) -> None:
        """Create the shared mypy cache once, before steps may start mypy together.

        Two mypy processes that create its sqlite databases at the same moment fail, one of
        them with an INTERNAL ERROR ("database is locked"): every cold run's first two lint
        steps did, now and then. Sharing databases that exist is safe, so one `mypy -c pass`
        (0.4 s; it only checks builtins, which the steps then find cached) creates them
        where the first step that runs mypy would. Nothing when the cache exists, or when
        mypy cannot run (the step then says why).
        """
        first = next((s for s in steps if any(argv[:1] == ("mypy",) for argv in s.commands)), None)
        if first is None:
            return
        env = self.environment(first)
        if Path(env["MYPY_CACHE_DIR"]).exists():
            return
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["mypy", "-c", "pass"],
                cwd=self.root / first.workdir,
                env=env,
                capture_output=True,
                timeout=MYPY_CACHE_TIMEOUT,
                check=False,
            )

    def key_of(self, step: Step) -> str | None:
        """The step's cache key (computed once), None without a cache."""
        if self.cache is None or self.hasher is None:
            return None
        if step.id not in self._keys:
            self._keys[step.id] = step_key(step, self.hasher, self.fingerprint)
        return self._keys[step.id]

    def has_local_entry(self, step: Step) -> bool:
        key = self.key_of(step)
        return key is not None and self.cache is not None and self.cache.has(key)

    def local_hit(self, step: Step) -> StepResult | None:
        """The step's result from the local cache, its outputs restored; None on a miss."""
        key = self.key_of(step)
        if key is None:
            return None
        hit = self._lookup(key, step)
        return None if hit is None else hit.replayed(step, key, "local", 0)

    async def run(self, step: Step) -> StepResult:
        key = self.key_of(step)
        if key is not None:
            found = self.local_hit(step)
            if found is not None:
                return found
            if self.remote is not None:
                hit, moved = await self._remote_lookup(key, step)
                if hit is not None:
                    return hit.replayed(step, key, "remote", moved)
        result = await self._execute(step)
        if self.flake_record is not None:
            append_flakes(self.flake_record, result.flakes, self.commit)
        if key is not None and self.cache is not None and result.status == "passed":
            self.cache.store(key, step, CachedResult.of(result))
            if self.remote is not None:
                packed = self.cache.pack(key)
                if packed is not None:
                    import anyio

                    sent = await anyio.to_thread.run_sync(self.remote.store, key, packed)
                    result = replace(result, cache_bytes=sent)
        return replace(result, cache_key=key)

    async def _remote_lookup(self, key: str, step: Step) -> tuple[CachedResult | None, int]:
        """Fetch the entry from the remote cache into the local one, then load it from there."""
        import anyio

        assert self.remote is not None
        assert self.cache is not None
        fetched = await anyio.to_thread.run_sync(self.remote.fetch, key, step.id)
        if fetched is None:
            return None, 0
        try:
            self.cache.install(key, fetched.content)
        except CorruptEntryError as error:
            self.warnings.append(f"{error} (remote, scope {fetched.scope!r}); the step runs")
            return None, 0
        return self._lookup(key, step), len(fetched.content)

    def _lookup(self, key: str, step: Step) -> CachedResult | None:
        assert self.cache is not None
        try:
            return self.cache.load(key, step)
        except CorruptEntryError as error:
            self.warnings.append(f"{error}; entry discarded, step recomputed")
            return None

    async def _execute(self, step: Step) -> StepResult:
        self._clear_outputs(step)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # A group's id names its place, `acme-ci:test[2/4]`: no directory in a file name.
        log_path = self.log_dir / f"{step.id.replace(':', '.').replace('/', '-of-')}.log"
        cwd = self.root / step.workdir
        env = self.environment(step)
        started = time.monotonic()
        returncode = 0
        with log_path.open("w", encoding="utf-8") as log:
            for argv in step.commands:
                log.write(f"$ (cd {step.workdir} && {' '.join(argv)})\n")
                log.flush()
                returncode = await self._command(argv, cwd, env, log)
                if returncode != 0:
                    log.write(f"exit code {returncode}\n")
                    break
        duration = time.monotonic() - started
        text = log_path.read_text(encoding="utf-8", errors="replace")
        tail = "\n".join(text.splitlines()[-TAIL_LINES:])
        result = StepResult(
            step.id,
            "passed" if returncode == 0 else "failed",
            duration=duration,
            output=tail,
            log_path=str(log_path.relative_to(self.root)),
        )
        return self._with_tests(step, returncode, result) if step.task == "test" else result

    async def _command(
        self, argv: tuple[str, ...], cwd: Path, env: dict[str, str], log: TextIO
    ) -> int:
        """Run one argv into the log; its exit code (127: cannot start, 124: timed out)."""
        import anyio

        try:
            with anyio.move_on_after(self.step_timeout):
                done = await anyio.run_process(
                    list(argv), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
                )
                return done.returncode
        except OSError as error:
            log.write(f"cannot start {argv[0]!r}: {error}\n")
            return 127
        # Only a timeout leaves the block without returning.
        log.write(f"timed out after {self.step_timeout:g}s: killed\n")
        return 124

    def _with_tests(self, step: Step, returncode: int, result: StepResult) -> StepResult:
        """Add what the JUnit report says; a step with no usable report is a failure."""
        # Imported here: a run whose steps all hit the cache never parses XML.
        from acme_ci.core.verdict import judge_test_step

        junit = self.root / step.junit_path if step.junit_path else None
        text = junit.read_text(encoding="utf-8") if junit and junit.is_file() else None
        return judge_test_step(step, returncode, text).applied_to(result, returncode)

    def _clear_outputs(self, step: Step) -> None:
        """A step's outputs are its own: remove stale ones so a cache entry holds only fresh."""
        for output in step.outputs:
            target = self.root / output
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
