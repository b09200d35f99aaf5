"""Prometheus metrics, per deployment: load from the replicas, latency and tokens from the gateway.

Latencies and token counts are measured where the client sees them (the gateway); the
engine's own state (running, waiting, KV cells) comes from each replica's last health
probe, refreshed when /metrics is scraped.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

LABELS = ("model", "deployment")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60)
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)


class ReplicaCollector:
    """Gauges read from the supervisor's view of each replica at scrape time."""

    GAUGES = {
        "running": ("openmaas_requests_running", "Sequences the engine is decoding."),
        "waiting": ("openmaas_requests_waiting", "Requests queued for a slot."),
        "kv_cells_used": ("openmaas_kv_cells_used", "KV cache cells holding tokens."),
        "kv_cells_total": ("openmaas_kv_cells_total", "KV cache cells available."),
    }

    def __init__(self, supervisor):
        self.supervisor = supervisor

    def collect(self):
        families = {field: GaugeMetricFamily(name, doc, labels=LABELS) for field, (name, doc) in self.GAUGES.items()}
        ready = GaugeMetricFamily("openmaas_replicas_ready", "Replicas answering and loaded.", labels=LABELS)
        for deployment in self.supervisor.deployments.values():
            labels = [deployment.spec.model_id, deployment.spec.id]
            ready.add_metric(labels, len(deployment.ready_replicas()))
            healths = [r.health for r in deployment.ready_replicas() if r.health is not None]
            for field, family in families.items():
                family.add_metric(labels, sum(getattr(h, field) for h in healths))
        yield ready
        yield from families.values()


class Metrics:
    def __init__(self, supervisor):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("openmaas_requests", "Generation requests by outcome.", LABELS + ("status",), registry=r)
        self.prompt_tokens = Counter("openmaas_prompt_tokens", "Prompt tokens processed.", LABELS, registry=r)
        self.generated_tokens = Counter("openmaas_generation_tokens", "Tokens generated.", LABELS, registry=r)
        self.prefix_cache_hits = Counter("openmaas_prefix_cache_hits", "Requests that reused cached prompt tokens.",
                                         LABELS, registry=r)
        self.prefix_cache_tokens = Counter("openmaas_prefix_cache_tokens", "Prompt tokens served from the prefix cache.",
                                           LABELS, registry=r)
        self.ttft = Histogram("openmaas_time_to_first_token_seconds", "Time to first token.", LABELS,
                              buckets=LATENCY_BUCKETS, registry=r)
        self.itl = Histogram("openmaas_inter_token_latency_seconds", "Time between streamed tokens.", LABELS,
                             buckets=LATENCY_BUCKETS, registry=r)
        self.e2e = Histogram("openmaas_request_duration_seconds", "End-to-end request latency.", LABELS,
                             buckets=DURATION_BUCKETS, registry=r)
        self.queue = Histogram("openmaas_queue_time_seconds", "Time waiting for an engine slot.", LABELS,
                               buckets=LATENCY_BUCKETS, registry=r)
        r.register(ReplicaCollector(supervisor))

    def render(self) -> bytes:
        return generate_latest(self.registry)
