"""How the rehearsal checks a result as a user would: GET a service's routes from a
container on the rehearsal's network, start an image as `docker run` starts it, pull a
published image back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from acme_ci.rehearsal.evaluator.values import Container, Layer, Service
from acme_ci.rehearsal.podman import LIMITS, entrypoint_flag, env_pairs, podman
from acme_ci.rehearsal.session import Rehearsal

# What every service must answer with 200 (acme-health's probes and the root route).
ROUTES = ("/readiness", "/liveness", "/")
HTTP_PROBE = """
import json, sys, time, urllib.request
host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
end, answers = time.time() + 90, {}
for path in paths:
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=3) as r:
                answers[path] = [r.status, r.read(300).decode("utf-8", "replace")]
            break
        except urllib.error.HTTPError as e:
            answers[path] = [e.code, e.read(300).decode("utf-8", "replace")]
            break
        except OSError as e:
            if time.time() > end:
                answers[path] = [0, str(e)]
                break
            time.sleep(0.5)
print(json.dumps(answers))
"""


async def probe_http(r: Rehearsal, host: str, port: int, paths: Sequence[str]) -> dict[str, Any]:
    """GET each path from a container on the rehearsal's network; {path: [status, body]}."""
    done = await podman(
        "run",
        "--rm",
        *LIMITS,
        "--network",
        await r.evaluator.resources.shared_network(),
        entrypoint_flag(["python3", "-c", HTTP_PROBE, host, str(port), *paths]),
        await r.images.probe_image(),
    )
    answers: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


async def answer_lines(r: Rehearsal, service: Service, name: str) -> tuple[bool, list[str]]:
    """Start `service`, GET its routes, stop it: (all 200, one line per route)."""
    if not service.container.ports:
        return False, [f"{name}: the service exposes no port"]
    port = service.container.ports[0]
    async with r.evaluator.services.serving(service) as host:
        answers = await probe_http(r, host, port, ROUTES)
        logs = await podman("logs", "--tail", "5", host, check=False)
    lines = [
        f"  GET :{port}{path} -> {status} {body[:80]!r}" for path, (status, body) in answers.items()
    ]
    ok = all(status == 200 for status, _ in answers.values())
    if not ok:
        lines += [f"  | {line}" for line in (logs.stdout + logs.stderr).splitlines()]
    return ok, lines


def run_as_docker_would(container: Container, digest: str) -> Service:
    """The container started as `docker run` starts its image: entrypoint, then default args."""
    return Service(container, (*container.entrypoint, *container.default_args), digest)


async def pulled(ref: str) -> Service:
    """A published image pulled back from its registry, to be started as `docker run` would."""
    await podman("pull", "--quiet", "--tls-verify=false", ref)
    data = json.loads((await podman("image", "inspect", ref)).stdout)[0]
    config = data["Config"]
    container = Container(
        ref=ref,
        layer=Layer(image=data["Id"]),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        default_args=tuple(config.get("Cmd") or ()),
        ports=tuple(int(p.split("/")[0]) for p in config.get("ExposedPorts") or {}),
        env=env_pairs(config.get("Env") or []),
        workdir=config.get("WorkingDir") or "/",
    )
    return run_as_docker_would(container, ref)


async def pulled_and_started(r: Rehearsal, refs: Sequence[str]) -> tuple[bool, list[str]]:
    """Each published reference pulled back and started: (every one answered, lines)."""
    ok, lines = bool(refs), []
    for ref in refs:
        lines.append(f"  published {ref}")
        started, route_lines = await answer_lines(r, await pulled(ref), ref)
        lines += ["  pulled back and started:", *route_lines]
        ok = ok and started
        await podman("rmi", "--force", ref, check=False)
    return ok, lines
