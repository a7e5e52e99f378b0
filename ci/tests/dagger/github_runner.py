"""What the GitHub Actions runner does with a step, as far as the workflow's tests need it.

The runner evaluates `${{ }}` expressions (in `env:`, `with:`, `if:`, and pasted as text into a
`run:` script before bash reads it), runs `run:` scripts with bash, reads each step's outputs
from the file named by GITHUB_OUTPUT, and runs a composite action's steps with the calling
step's env plus their own. Only the expression forms the workflow and the pinned action use are
modelled; any other is an error, so a new form fails a test instead of being misread.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
# `shell: bash` in a step, and a workflow step without `shell:` on Linux (GitHub's docs,
# "jobs.<job_id>.steps[*].shell").
BASH_SHELL = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
DEFAULT_SHELL = ("bash", "-e")
_TOKEN = re.compile(r"\s*(\|\||&&|==|!=|\(|\)|,|'(?:[^']|'')*'|[A-Za-z_][\w.-]*)")


class UnmodelledExpressionError(Exception):
    """An expression outside the forms this model evaluates."""


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of one expression (the text inside `${{ }}`)."""
    tokens = [m.group(1) for m in _tokens(expression)]
    value, rest = _or(tokens, context)
    if rest:
        raise UnmodelledExpressionError(f"cannot evaluate {expression!r} (at {rest[0]!r})")
    return value


def as_text(value: Any) -> str:
    """A value as the runner writes it into a string: true/false, '' for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(text: str, context: Mapping[str, Any]) -> str:
    """`text` with each `${{ }}` replaced by its value, as the runner pastes it."""
    return EXPRESSION.sub(lambda m: as_text(evaluate(m.group(1), context)), text)


def condition(text: str, context: Mapping[str, Any]) -> bool:
    """An `if:` (written with or without `${{ }}`)."""
    match = EXPRESSION.fullmatch(text.strip())
    return _truthy(evaluate(match.group(1) if match else text, context))


def _tokens(expression: str) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    position = 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise UnmodelledExpressionError(f"cannot read {expression!r} at {position}")
        found.append(match)
        position = match.end()
    return found


def _or(tokens: list[str], context: Mapping[str, Any]) -> tuple[Any, list[str]]:
    value, tokens = _and(tokens, context)
    while tokens[:1] == ["||"]:
        other, tokens = _and(tokens[1:], context)
        value = value if _truthy(value) else other
    return value, tokens


def _and(tokens: list[str], context: Mapping[str, Any]) -> tuple[Any, list[str]]:
    value, tokens = _comparison(tokens, context)
    while tokens[:1] == ["&&"]:
        other, tokens = _comparison(tokens[1:], context)
        value = other if _truthy(value) else value
    return value, tokens


def _comparison(tokens: list[str], context: Mapping[str, Any]) -> tuple[Any, list[str]]:
    left, tokens = _term(tokens, context)
    if tokens[:1] in (["=="], ["!="]):
        right, rest = _term(tokens[1:], context)
        return (_equal(left, right) == (tokens[0] == "==")), rest
    return left, tokens


def _term(tokens: list[str], context: Mapping[str, Any]) -> tuple[Any, list[str]]:
    if not tokens:
        raise UnmodelledExpressionError("an expression ends too early")
    head, rest = tokens[0], tokens[1:]
    if head.startswith("'"):
        return head[1:-1].replace("''", "'"), rest
    if head in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[head], rest
    if rest[:1] == ["("]:
        arguments: list[Any] = []
        rest = rest[1:]
        while rest[:1] != [")"]:
            argument, rest = _or(rest, context)
            arguments.append(argument)
            rest = rest[1:] if rest[:1] == [","] else rest
        return _call(head, arguments), rest[1:]
    value: Any = context
    for name in head.split("."):
        value = value.get(name) if isinstance(value, Mapping) else None
    return value, rest


def _call(name: str, arguments: list[Any]) -> Any:
    if name == "toJSON" and len(arguments) == 1:
        # The runner's serializer escapes quotes, backslashes and control characters, and
        # nothing else: a single quote stays one.
        return json.dumps(arguments[0], ensure_ascii=False)
    if name == "startsWith" and len(arguments) == 2:
        return as_text(arguments[0]).lower().startswith(as_text(arguments[1]).lower())
    raise UnmodelledExpressionError(f"function {name}({len(arguments)} arguments)")


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", 0)


def _equal(left: Any, right: Any) -> bool:
    """GitHub's ==: strings ignore case; values of different types compare as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return _number(left) == _number(right)


def _number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    try:
        return float(value)
    except ValueError:
        return float("nan")


def read_outputs(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").split("\n"))
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for body in lines:
                if body == delimiter:
                    break
                value.append(body)
            else:
                raise ValueError(f"{path}: no closing {delimiter!r} for output {name!r}")
            outputs[name] = "\n".join(value)
        elif line:
            name, _, text = line.partition("=")
            outputs[name] = text
    return outputs


@dataclass
class Runner:
    """One job's steps on one machine: a work directory, PATH, and the steps' outputs."""

    workdir: Path
    path: str
    context: dict[str, Any] = field(default_factory=dict)

    def run_script(
        self,
        script: str,
        env: Mapping[str, str],
        *,
        shell: tuple[str, ...] = DEFAULT_SHELL,
        context: Mapping[str, Any] | None = None,
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        """A `run:` script (its expressions pasted first) and the outputs it wrote."""
        scratch = self.workdir.parent / f"{self.workdir.name}-runner"
        scratch.mkdir(exist_ok=True)
        output = scratch / "github-output"
        output.write_text("", encoding="utf-8")
        file = scratch / "script.sh"
        file.write_text(render(script, context or self.context), encoding="utf-8")
        variables = {
            "PATH": self.path,
            "HOME": str(scratch),
            "LANG": "C.UTF-8",
            "RUNNER_TEMP": str(scratch),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_PATH": str(scratch / "github-path"),
            "GITHUB_STEP_SUMMARY": str(scratch / "step-summary"),
            **env,
        }
        done = subprocess.run(
            [*shell, str(file)],
            cwd=self.workdir,
            env=variables,
            capture_output=True,
            text=True,
            check=False,
        )
        return done, read_outputs(output)

    def step_env(self, step: Mapping[str, Any]) -> dict[str, str]:
        """A workflow step's `env:`, evaluated."""
        return {k: render(str(v), self.context) for k, v in step.get("env", {}).items()}

    def run_step(self, step: Mapping[str, Any]) -> subprocess.CompletedProcess[str]:
        """A workflow `run:` step; its outputs land in steps.<id>.outputs."""
        done, outputs = self.run_script(step["run"], self.step_env(step))
        if "id" in step:
            self.context.setdefault("steps", {})[step["id"]] = {"outputs": outputs}
        return done

    def run_composite(
        self, action: Mapping[str, Any], step: Mapping[str, Any], *, skip: tuple[str, ...] = ()
    ) -> list[subprocess.CompletedProcess[str]]:
        """A composite action's steps for a workflow step that `uses:` it (ids in `skip`,
        or an index as text for an unnamed one, are left out: an installer that downloads)."""
        declared = action["inputs"]
        given = {k: render(str(v), self.context) for k, v in step.get("with", {}).items()}
        unknown = set(given) - set(declared)
        if unknown:
            raise UnmodelledExpressionError(f"inputs the action does not declare: {unknown}")
        inputs = {
            name: given.get(name, str(spec.get("default", ""))) for name, spec in declared.items()
        }
        caller_env = self.step_env(step)
        context: dict[str, Any] = {**self.context, "inputs": inputs, "steps": {}}
        finished = []
        for index, inner in enumerate(action["runs"]["steps"]):
            if inner.get("id", str(index)) in skip:
                continue
            if "if" in inner and not condition(str(inner["if"]), context):
                continue
            env = {
                **caller_env,
                **{k: render(str(v), context) for k, v in inner.get("env", {}).items()},
            }
            assert inner["shell"] == "bash", inner
            done, outputs = self.run_script(inner["run"], env, shell=BASH_SHELL, context=context)
            finished.append(done)
            if "id" in inner:
                context["steps"][inner["id"]] = {"outputs": outputs}
            if done.returncode != 0:
                break
        return finished
