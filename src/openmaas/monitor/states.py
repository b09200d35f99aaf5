"""Component states, heartbeat statuses and incident statuses: the vocabulary of the status page."""

from __future__ import annotations

# A component's state, best first (the order is the severity).
OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"
STATES = (OPERATIONAL, DEGRADED, PARTIAL, MAJOR, MAINTENANCE)
FAILING = (DEGRADED, PARTIAL, MAJOR)  # states that open an incident when they last

LABELS = {
    OPERATIONAL: "Operational",
    DEGRADED: "Degraded performance",
    PARTIAL: "Partial outage",
    MAJOR: "Major outage",
    MAINTENANCE: "Under maintenance",
}

# A heartbeat's status: what one probe saw. Degraded still answers, so it counts as up in uptime.
UP, DEGRADED_BEAT, DOWN = "up", "degraded", "down"
BEAT_STATUSES = (UP, DEGRADED_BEAT, DOWN)

# An incident's status, in the order it usually moves.
INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED = "investigating", "identified", "monitoring", "resolved"
INCIDENT_STATUSES = (INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED)
IMPACTS = (DEGRADED, PARTIAL, MAJOR, MAINTENANCE, "none")


def severity(state: str) -> int:
    """How bad a state is, for picking the worst: maintenance ranks below any failure."""
    return {OPERATIONAL: 0, MAINTENANCE: 1, DEGRADED: 2, PARTIAL: 3, MAJOR: 4}.get(state, 0)


def worst(states) -> str:
    return max(states, key=severity, default=OPERATIONAL)


def beat_status(state: str) -> str:
    """The heartbeat status a component state records."""
    return {MAJOR: DOWN, PARTIAL: DEGRADED_BEAT, DEGRADED: DEGRADED_BEAT}.get(state, UP)


def summary(states) -> str:
    """The one line a status page opens with."""
    state = worst(states)
    return {
        OPERATIONAL: "All systems operational",
        MAINTENANCE: "Scheduled maintenance in progress",
        DEGRADED: "Degraded performance",
        PARTIAL: "Partial outage",
        MAJOR: "Major outage",
    }[state]
