"""A receivables file uploaded in the web: its content, its check (the preview), its import, and their progress.

The check and the import run as tasks (ciclo.receivables_import.tasks), each calling
ciclo.collections.receivables.upsert_receivables — the check as a dry run — and telling their
progress here, where the page polls it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked: waiting for confirmation")
        QUEUED = "queued", _("Waiting to be imported")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    file_name = models.CharField(_("file"), max_length=200)
    file_format = models.CharField(_("format"), max_length=4)
    content = models.BinaryField(_("content"))
    all_or_nothing = models.BooleanField(_("all or nothing"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CHECKING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    done = models.PositiveIntegerField(_("rows done"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    refused_rows = models.PositiveIntegerField(_("refused"), default=0)
    refused = models.JSONField(_("refused rows"), default=list, blank=True, help_text=_("[row, field, reason]"))
    samples = models.JSONField(_("rows created or changed"), default=list, blank=True)
    applied = models.BooleanField(_("applied"), default=False)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("receivables import")
        verbose_name_plural = _("receivables imports")

    def __str__(self) -> str:
        return f"{self.file_name} · {self.get_status_display()}"

    @property
    def in_progress(self) -> bool:
        return self.status in {self.Status.CHECKING, self.Status.QUEUED, self.Status.RUNNING}

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0
