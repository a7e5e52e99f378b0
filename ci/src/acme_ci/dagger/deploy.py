"""Kubernetes manifests for the services (pure), and applying them with kubectl in a container."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import dagger
from dagger import dag

from acme_ci.core.workspace import Package, Workspace
from acme_ci.dagger.containers import KUBECTL_IMAGE, once_per_call

KUBECONFIG_PATH = "/run/secrets/kubeconfig"
MANIFEST_PATH = "/manifests/acme.yaml"


def image_ref(registry: str, package: str, version: str) -> str:
    """The reference a service's image is published under.

    The repository part is lowercased: an OCI reference allows no capitals there, and
    `ghcr.io/${{ github.repository_owner }}` keeps the owner's (e.g. ghcr.io/ACME-Corp). The
    tag keeps its case (capitals are valid in a tag).
    """
    return f"{registry.rstrip('/').lower()}/{package.lower()}:{version}"


def service_packages(ws: Workspace) -> tuple[Package, ...]:
    """The packages that run as services, by name."""
    return tuple(p for p in ws.packages if p.settings.kind == "service")


def manifests(
    ws: Workspace, registry: str, version: str, namespace: str
) -> list[dict[str, object]]:
    """A Deployment (probes on the health endpoints) and a Service per service package."""
    docs: list[dict[str, object]] = []
    for package in service_packages(ws):
        port = package.settings.service_port or 80
        labels = {"app.kubernetes.io/name": package.name, "app.kubernetes.io/part-of": "acme"}
        meta = {"name": package.name, "namespace": namespace, "labels": labels}

        def probe(path: str, port: int = port) -> dict[str, object]:
            return {
                "httpGet": {"path": path, "port": port},
                "initialDelaySeconds": 2,
                "periodSeconds": 10,
            }

        container = {
            "name": package.name,
            "image": image_ref(registry, package.name, version),
            "ports": [{"containerPort": port, "name": "http"}],
            "readinessProbe": probe("/readiness"),
            "livenessProbe": probe("/liveness"),
        }
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta,
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app.kubernetes.io/name": package.name}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [container]},
                    },
                },
            }
        )
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta,
                "spec": {
                    "selector": {"app.kubernetes.io/name": package.name},
                    "ports": [{"name": "http", "port": port, "targetPort": "http"}],
                },
            }
        )
    return docs


def to_yaml(docs: Sequence[object]) -> str:
    """A multi-document YAML stream; scalars are JSON-quoted, which YAML reads as-is."""
    return "".join("---\n" + "\n".join(_lines(doc, 0)) + "\n" for doc in docs)


def _lines(node: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(node, Mapping):
        out: list[str] = []
        for key, value in node.items():
            if _is_scalar(value) or not value:
                out.append(f"{pad}{key}: {_scalar(value)}")
            else:
                out.append(f"{pad}{key}:")
                out.extend(_lines(value, indent + 2))
        return out
    if not isinstance(node, Sequence) or isinstance(node, str):
        return [pad + _scalar(node)]
    out = []
    for item in node:
        inner = _lines(item, indent + 2)
        out.append(f"{pad}- {inner[0].lstrip()}")
        out.extend(inner[1:])
    return out


def _is_scalar(node: object) -> bool:
    return not isinstance(node, Mapping) and (
        isinstance(node, str) or not isinstance(node, Sequence)
    )


def _scalar(node: object) -> str:
    """JSON scalars are YAML scalars; empty collections are written inline."""
    if isinstance(node, Mapping):
        return "{}"
    if isinstance(node, Sequence) and not isinstance(node, str):
        return "[]"
    return json.dumps(node)


def kubectl_apply(yaml_text: str, kubeconfig: dagger.Secret) -> dagger.Container:
    """kubectl apply of `yaml_text`; the kubeconfig is a mounted secret, never a layer."""
    ctr = (
        dag.container()
        .from_(KUBECTL_IMAGE)
        .with_mounted_secret(KUBECONFIG_PATH, kubeconfig)
        .with_env_variable("KUBECONFIG", KUBECONFIG_PATH)
        .with_new_file(MANIFEST_PATH, yaml_text)
    )
    # Applied on every call, even when the cluster drifted from identical manifests. The
    # image's entrypoint is kubectl itself.
    return once_per_call(ctr).with_exec(["apply", "-f", MANIFEST_PATH], use_entrypoint=True)


async def deploy_services(
    ws: Workspace, version: str, registry: str, namespace: str, kubeconfig: dagger.Secret | None
) -> str:
    """The services' manifests as YAML; with a kubeconfig, applied, and kubectl's output."""
    yaml_text = to_yaml(manifests(ws, registry, version, namespace))
    if kubeconfig is None:
        return yaml_text
    return await kubectl_apply(yaml_text, kubeconfig).stdout()
