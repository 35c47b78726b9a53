"""Sending notices: rendered from templates, delivered to the outbox folder as .eml or by
SMTP, each key sent at most once (its delivery record is claimed before sending)."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from jinja2 import TemplateError
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.rendering import render
from models.notices import Notice
from store import notices as delivery


class NoticeActivities:
    def __init__(
        self,
        engine: Engine,
        outbox_dir: Path,
        smtp_host: str | None = None,
        smtp_port: int = 25,
    ) -> None:
        self._engine = engine
        self._outbox = outbox_dir
        self._smtp = (smtp_host, smtp_port) if smtp_host else None

    @activity.defn(name="send_notice")
    def send_notice(self, notice: Notice) -> str:
        """Returns "sent", or "already sent" when the key was delivered before."""
        try:
            rendered = render(notice.kind.value, notice.facts)
        except TemplateError as error:  # a bug in the notice's facts: retrying cannot help
            raise ApplicationError(
                f"notice {notice.kind} cannot be rendered: {error}", non_retryable=True
            ) from error
        if not delivery.claim(
            self._engine, notice.key, notice.request_id, notice.kind.value, notice.to,
            rendered.subject, rendered.body,
        ):
            return "already sent"
        message = EmailMessage()
        message["From"] = notice.sender
        message["To"] = ", ".join(notice.to)
        message["Subject"] = rendered.subject
        message["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(notice.key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@transfers>"  # one key, one Message-ID
        message.set_content(rendered.body)
        try:
            self._deliver(message, digest)
        except (OSError, smtplib.SMTPException) as error:
            delivery.mark_failed(self._engine, notice.key, f"{type(error).__name__}: {error}")
            raise
        delivery.mark_sent(self._engine, notice.key)
        return "sent"

    def _deliver(self, message: EmailMessage, name: str) -> None:
        if self._smtp is None:
            self._outbox.mkdir(parents=True, exist_ok=True)
            temporary = self._outbox / f".{name}.tmp"
            temporary.write_bytes(bytes(message))
            temporary.replace(self._outbox / f"{name}.eml")  # atomic: no half-written notice
            return
        host, port = self._smtp
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.send_message(message)
