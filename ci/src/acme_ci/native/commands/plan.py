"""`acme-ci plan`: what `ci` would run and why, without running anything."""

from __future__ import annotations

import argparse

from acme_ci.core.plan_format import plan_json, plan_mermaid, plan_text
from acme_ci.native.commands.common import USAGE_ERRORS, load, request_from, usage_error
from acme_ci.native.runner import plan_for

RENDERERS = {"text": plan_text, "json": plan_json, "mermaid": plan_mermaid}


def run(args: argparse.Namespace) -> int:
    try:
        root, ws = load(args)
        plan = plan_for(root, ws, request_from(args))
    except USAGE_ERRORS as error:
        return usage_error(error)
    print(RENDERERS[args.format](plan))
    return 0
