"""Hypothesis strategies for random package DAGs, and a reference closure to check against."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st


@st.composite
def dag_manifests(draw: st.DrawFn, max_size: int = 8) -> dict[str, tuple[str, ...]]:
    """`{package: its internal deps}`; a package only depends on earlier ones, so acyclic."""
    count = draw(st.integers(min_value=1, max_value=max_size))
    names = [f"p{i}" for i in range(count)]
    graph: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(names):
        deps = draw(st.sets(st.sampled_from(names[:i]))) if i else set()
        graph[name] = tuple(sorted(deps))
    return graph


def reference_dependents(graph: dict[str, tuple[str, ...]], seeds: Iterable[str]) -> frozenset[str]:
    """Seeds plus everything that reaches a seed by following deps (naive fixpoint)."""
    result = set(seeds)

    def reaches(name: str) -> bool:
        return name in result or any(reaches(d) for d in graph[name])

    return frozenset(n for n in graph if reaches(n))
