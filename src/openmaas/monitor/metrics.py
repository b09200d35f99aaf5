"""Prometheus gauges of each component's state and last probe latency, read from the monitor at scrape time."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from openmaas.monitor.states import STATES

LABELS = ("component", "name", "kind")


class MonitorCollector:
    def __init__(self, monitor):
        self.monitor = monitor

    def collect(self):
        state = GaugeMetricFamily("openmaas_component_state",
                                  "1 for the component's current state, 0 for the others.", labels=LABELS + ("state",))
        up = GaugeMetricFamily("openmaas_component_up", "1 when the component answers (operational or degraded).",
                               labels=LABELS)
        latency = GaugeMetricFamily("openmaas_component_probe_latency_seconds",
                                    "Latency of the component's last probe (a one-token completion for a deployment).",
                                    labels=LABELS)
        for component_id, obs in sorted(dict(self.monitor.latest).items()):  # a copy: ticks write it
            labels = [component_id, obs.component.name, obs.component.kind]
            for name in STATES:
                state.add_metric(labels + [name], 1.0 if obs.state == name else 0.0)
            up.add_metric(labels, 0.0 if obs.result.state == "major_outage" else 1.0)
            if obs.result.latency_ms is not None:
                latency.add_metric(labels, obs.result.latency_ms / 1000.0)
        yield state
        yield up
        yield latency
