"""Telling workspaces about incidents: the outbox, webhooks, email and the in-console inbox.

Every incident change writes, in its own transaction, one inbox message per affected
workspace and one delivery per subscription (the outbox); the dispatcher sends
deliveries until they land, so a restart between two attempts loses nothing.
"""
