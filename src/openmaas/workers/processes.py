"""Stopping a child process and everything it started."""

from __future__ import annotations

import asyncio
import os
import signal


async def terminate_group(process: asyncio.subprocess.Process | None, grace_s: float) -> None:
    """SIGTERM the process group, wait `grace_s`, then SIGKILL it if it lingers."""
    if process is None or process.returncode is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(process.wait(), wait)
            return
        except asyncio.TimeoutError:
            continue
