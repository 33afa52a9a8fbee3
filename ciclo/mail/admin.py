"""The e-mail Ciclo queued and sent: read only, with "queue again" for what did not go out."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ciclo.mail.models import Message
from ciclo.mail.tasks import deliver


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "address", "subject", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "template", "language"]
    search_fields = ["address", "name", "subject"]
    search_help_text = _("Address, name or subject.")
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "status",
        "error",
        "attempts",
        "created_at",
        "sent_at",
        "address",
        "name",
        "user",
        "language",
        "template",
        "key",
        "subject",
        "text",
        "html",
    )
    actions = ["queue_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # the record of what was sent is what keeps a retried task from sending again

    @admin.action(description=_("Queue the selected messages again (those queued or failed)"), permissions=["change"])
    def queue_again(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        # A queued message may have lost its task; a second task for one still queued sends nothing twice.
        sendable = queryset.filter(status__in=[Message.Status.QUEUED, Message.Status.FAILED])
        ids = list(sendable.values_list("pk", flat=True))
        for pk in ids:
            transaction.on_commit(partial(deliver.enqueue, pk), robust=True)
        self.message_user(
            request,
            ngettext("%(n)d message queued again.", "%(n)d messages queued again.", len(ids)) % {"n": len(ids)},
            messages.SUCCESS,
        )
