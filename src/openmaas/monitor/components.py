"""The components the monitor probes, and the registry that lists them.

A component is something a user depends on: the API gateway, the database, each
deployment (its replicas probed one by one), and the fine-tuning job runner. Fixed
components are added once; components that come and go (deployments) are listed by a
source function at every tick. A part of the platform joins with one call, as the runner does:

    app.state.monitor.registry.add(Component("runner", "Fine-tuning job runner", "runner", None, probe))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw. `state` is a component state (see states.py); `cause` a known reason for a failure."""

    state: str
    latency_ms: float | None = None
    detail: str = ""
    cause: str = ""


# A probe returns None when there is nothing to report yet (a deployment still loading for the first time).
Probe = Callable[[], Awaitable[ProbeResult | None]]


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    kind: str  # gateway | database | deployment | runner
    workspace_id: str | None  # None: a platform component, shown on the public status page
    probe: Probe


ComponentSource = Callable[[], Iterable[Component]]


class ComponentRegistry:
    def __init__(self) -> None:
        self._fixed: dict[str, Component] = {}
        self._sources: list[ComponentSource] = []

    def add(self, component: Component) -> None:
        self._fixed[component.id] = component

    def remove(self, component_id: str) -> None:
        self._fixed.pop(component_id, None)

    def add_source(self, source: ComponentSource) -> None:
        self._sources.append(source)

    def current(self) -> list[Component]:
        components = dict(self._fixed)
        for source in self._sources:
            for component in source():
                components.setdefault(component.id, component)
        return list(components.values())
