"""Honest availability: probes, component states, incidents, uptime, notifications and the status page.

The monitor runs inside `openmaas serve` (see `service.monitor_lifespan`): every
`monitor_interval_s` it probes each component, stores a heartbeat, derives the
component's state, and opens, updates and resolves incidents; every change writes its
notifications to the outbox in the same transaction, and a dispatcher sends them.
"""
