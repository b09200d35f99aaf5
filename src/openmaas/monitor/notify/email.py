"""Email: one plain-text message per event, through the SMTP server of the configuration (smtplib, in a thread)."""

from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage

import anyio

from openmaas.monitor.notify import messages
from openmaas.monitor.notify.webhook import AttemptResult


def build(settings, to: str, event: str, payload: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = f"[OpenMaaS] {messages.title(event, payload)}"
    message["X-OpenMaaS-Event"] = event
    message["X-OpenMaaS-Incident"] = payload["incident"]["id"]
    message.set_content(messages.body(event, payload))
    return message


def send_sync(settings, message: EmailMessage, timeout_s: float = 20.0) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server is configured (set OPENMAAS_SMTP_HOST)")
    factory = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    with factory(settings.smtp_host, settings.smtp_port, timeout=timeout_s) as smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


async def send(settings, to: str, event: str, payload: dict) -> AttemptResult:
    started = time.perf_counter()
    try:
        await anyio.to_thread.run_sync(send_sync, settings, build(settings, to, event, payload))
    except Exception as exc:  # smtplib raises OSError and SMTPException subclasses
        return AttemptResult(False, None, f"{type(exc).__name__}: {exc}"[:500], (time.perf_counter() - started) * 1000)
    return AttemptResult(True, None, None, (time.perf_counter() - started) * 1000)
