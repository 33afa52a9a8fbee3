from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    """One e-mail to one recipient, rendered when it was queued; a task sends it (ciclo.mail.tasks.deliver).

    The status is the claim: a task sends a message only after moving it from queued (or
    failed) to sending, so a task run twice, or by two workers at once, sends it once.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    key = models.CharField(
        _("key"),
        max_length=300,
        unique=True,
        editable=False,
        help_text=_("A message is queued once per key, however often it is asked for."),
    )
    template = models.CharField(_("template"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    name = models.CharField(_("recipient's name"), max_length=300, blank=True)
    address = models.EmailField(_("address"))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.TextField(_("subject"))
    text = models.TextField(_("plain text"))
    html = models.TextField(_("HTML"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("e-mail message")
        verbose_name_plural = _("e-mail messages")

    def __str__(self) -> str:
        return f"{self.subject} → {self.address}"
