"""OpenMaaS: an open, self-hosted Model-as-a-Service platform."""

__version__ = "0.1.0"
