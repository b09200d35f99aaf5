"""The gateway: authentication, limits, routing to replicas and metering."""
