"""The task that sends one queued e-mail (ciclo.mail.sending.send queues it)."""

from __future__ import annotations

import logging
import time
from email.headerregistry import Address

from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from ciclo.mail.models import Message

logger = logging.getLogger("ciclo.mail")

# A message left in "sending" by a worker that died mid-send is not sent again: it may have gone out.
_SENDABLE = [Message.Status.QUEUED, Message.Status.FAILED]


@task()
def deliver(message_id: int) -> str:
    """Send the message through Django's mail API, once: returns its status afterwards.

    The message is claimed first (queued or failed → sending, compare-and-swap), so a second
    run of this task, at the same time or later, finds it claimed or sent and sends nothing.
    """
    claimed = Message.objects.filter(pk=message_id, status__in=_SENDABLE).update(
        status=Message.Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        status = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        logger.info("mail not sent id=%s: %s", message_id, f"already {status}" if status else "no such message")
        return status or "missing"
    message = Message.objects.get(pk=message_id)
    started = time.monotonic()
    try:
        to = str(Address(message.name, addr_spec=message.address)) if message.name else message.address
        email = EmailMultiAlternatives(message.subject, message.text, to=[to])
        email.attach_alternative(message.html, "text/html")
        email.send()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        Message.objects.filter(pk=message_id).update(status=Message.Status.FAILED, error=error[:2000])
        logger.warning(
            "mail failed id=%s template=%s to=%s duration_ms=%d error=%r",
            message_id,
            message.template,
            message.address,
            (time.monotonic() - started) * 1000,
            error,
        )
        raise
    Message.objects.filter(pk=message_id).update(status=Message.Status.SENT, sent_at=timezone.now(), error="")
    logger.info(
        "mail sent id=%s template=%s to=%s language=%s duration_ms=%d",
        message_id,
        message.template,
        message.address,
        message.language,
        (time.monotonic() - started) * 1000,
    )
    return Message.Status.SENT.value
