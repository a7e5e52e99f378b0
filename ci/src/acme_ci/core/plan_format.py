"""Render a plan without running it: text for people, JSON for tools, Mermaid for docs."""

from __future__ import annotations

import json

from acme_ci.core.plan import Plan

# A big change lists hundreds of files: the text view shows a few, the JSON view all.
MAX_REASONS = 3


def plan_text(plan: Plan) -> str:
    lines = [f"Selection: {plan.selection.note}"]
    for name, reasons in sorted(plan.selection.reasons.items()):
        shown = "; ".join(reasons[:MAX_REASONS])
        more = f" (+{len(reasons) - MAX_REASONS} more)" if len(reasons) > MAX_REASONS else ""
        lines.append(f"  {name}: {shown}{more}")
    if plan.selection.ignored_files:
        lines.append(f"  (no package: {', '.join(plan.selection.ignored_files)})")
    lines.append(f"Steps ({len(plan.steps)}):")
    for step in plan.steps:
        needs = f"  needs {', '.join(step.needs)}" if step.needs else ""
        lines.append(f"  {step.id}{needs}")
        for argv in step.commands:
            lines.append(f"      $ (cd {step.workdir} && {' '.join(argv)})")
    return "\n".join(lines)


def plan_json(plan: Plan) -> str:
    data = {
        "selection": {
            "note": plan.selection.note,
            "packages": {k: list(v) for k, v in plan.selection.reasons.items()},
            "ignored_files": list(plan.selection.ignored_files),
        },
        "steps": [
            {
                "id": s.id,
                "package": s.package,
                "task": s.task,
                "commands": [list(c) for c in s.commands],
                "workdir": s.workdir,
                "env": dict(s.env),
                "inputs": list(s.inputs),
                "needs": list(s.needs),
                "outputs": list(s.outputs),
                "reason": s.reason,
            }
            for s in plan.steps
        ],
    }
    return json.dumps(data, indent=2)


def plan_mermaid(plan: Plan) -> str:
    ids = {step.id: f"s{i}" for i, step in enumerate(plan.steps)}
    lines = ["flowchart LR"]
    for step in plan.steps:
        lines.append(f'  {ids[step.id]}["{step.id}"]')
    for step in plan.steps:
        for need in step.needs:
            lines.append(f"  {ids[need]} --> {ids[step.id]}")
    return "\n".join(lines)
