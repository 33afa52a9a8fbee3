"""Queuing e-mail: `send` renders a message per recipient, in their language, and queues a task for each."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template import Context, engines
from django.template.backends.django import DjangoTemplates
from django.utils import translation

from ciclo.accounts.models import Profile
from ciclo.mail.models import Message
from ciclo.mail.tasks import deliver

logger = logging.getLogger("ciclo.mail")


def send(
    template: str,
    to: Iterable[Any],
    context: Mapping[str, Any] | None = None,
    language: str | None = None,
    *,
    key: str | None = None,
) -> list[Message]:
    """Queue the e-mail `template` for each recipient of `to`; a task sends each one, never the caller.

    `to` holds users (their e-mail address, and the language of their profile) and addresses.
    A user without an address is left out. Each message is rendered now, with `context` plus
    `recipient` (the user, or None for an address), in `language` when given, else in the
    user's language, else in settings.LANGUAGE_CODE. The templates are
    mail/<template>_subject.txt, mail/<template>.txt and mail/<template>.html.

    With a `key`, a message is queued once per key and address however often `send` is called
    (a job run twice); without, each call queues new messages. The tasks are queued when the
    caller's transaction commits, so a worker never looks for a message not saved yet; a test
    inside one transaction runs them with django_capture_on_commit_callbacks(execute=True).
    """
    if language is not None:
        language = language.lower()
        if language not in dict(settings.LANGUAGES):
            raise ValueError(f"language must be one of {', '.join(dict(settings.LANGUAGES))}, got {language!r}")
    recipients = _recipients(to, template)
    own = _languages([user.pk for user, _address in recipients if user is not None]) if language is None else {}
    messages = []
    for user, address in recipients:
        lang = language or (own.get(user.pk) if user is not None else None) or settings.LANGUAGE_CODE
        subject, text, html = render(template, {**(context or {}), "recipient": user}, lang)
        fields = {
            "template": template,
            "user": user,
            "name": user.get_full_name() if user is not None else "",
            "address": address,
            "language": lang,
            "subject": subject,
            "text": text,
            "html": html,
        }
        if key is None:
            message, created = Message.objects.create(key=uuid.uuid4().hex, **fields), True
        else:
            message, created = Message.objects.get_or_create(key=f"{key}:{address.lower()}", defaults=fields)
        if created:
            transaction.on_commit(partial(deliver.enqueue, message.pk), robust=True)
            messages.append(message)
    return messages


def render(template: str, context: Mapping[str, Any], language: str) -> tuple[str, str, str]:
    """The subject, plain text and HTML of mail/<template>, in `language`.

    Only the HTML is escaped: the subject and the plain text are shown as they are written.
    """
    engine = cast(DjangoTemplates, engines["django"]).engine
    with translation.override(language):
        lines = engine.get_template(f"mail/{template}_subject.txt").render(Context(context, autoescape=False))
        subject = " ".join(lines.split())  # one line: a header holds no line break
        text = engine.get_template(f"mail/{template}.txt").render(Context(context, autoescape=False))
        html = engine.get_template(f"mail/{template}.html").render(Context({**context, "subject": subject}))
    return subject, _tidy(text), html


def _tidy(text: str) -> str:
    """Template tags leave trailing spaces and runs of blank lines behind: one blank line at most.

    The signature's separator keeps its space ("-- "): mail clients recognise it by that.
    """
    lines = "\n".join("-- " if line.rstrip() == "--" else line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines) + "\n"


def _recipients(to: Iterable[Any], template: str) -> list[tuple[Any, str]]:
    """(user or None, address) per recipient, each address once."""
    seen: set[str] = set()
    found = []
    for recipient in to:
        if isinstance(recipient, str):
            user, address = None, recipient.strip()
        else:
            user, address = recipient, (recipient.email or "").strip()
            if not address:
                logger.info("mail not queued template=%s user=%s: no e-mail address", template, user.pk)
                continue
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"not an e-mail address: {address!r}") from None
        if address.lower() not in seen:
            seen.add(address.lower())
            found.append((user, address))
    return found


def _languages(user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    chosen = Profile.objects.filter(user_id__in=user_ids).exclude(language="")
    return dict(chosen.values_list("user_id", "language"))
