"""Sends one e-mail over SMTP; every way it can fail becomes a `MailError`, which the digest retries."""
from __future__ import annotations

import re
from email.message import EmailMessage

import aiosmtplib

from pipeline.settings import Settings

SECURITY = ("none", "starttls", "tls")


class MailError(Exception):
    """The message was not accepted; the text is a one-line reason, fit for a log line."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return f"recipient refused: {refused}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def send_message(message: EmailMessage, settings: Settings, *, timeout: float = 30.0) -> None:
    """Hands `message` to the configured SMTP server, or raises MailError saying why not.

    An unknown `smtp_security` is a ValueError, not a MailError: retrying cannot fix it.
    """
    if settings.smtp_security not in SECURITY:
        raise ValueError(f"smtp_security {settings.smtp_security!r} is not one of {', '.join(SECURITY)}")
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",  # False, not None: no silent upgrade
            username=settings.smtp_user or None,
            password=settings.smtp_password if settings.smtp_user else None,
            timeout=timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailError(_one_line(f"{where}: {_reason(exc)}")) from exc
