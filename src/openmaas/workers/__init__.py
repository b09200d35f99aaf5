"""Workers: one process per deployment replica, each hosting an engine behind a loopback API."""
