"""Tickets in the admin: shown, never changed here.

Tickets change only through the engine (opening, routing, answering), which
keeps their rules and history; the admin is a window onto what happened.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ciclo.history.admin import ReadOnlyAdminMixin
from ciclo.people.documents import digits
from ciclo.people.text import fold
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import (
    Answer,
    AnswerChoice,
    AnswerRevision,
    CrUnlock,
    MoveDecision,
    Note,
    PhaseMove,
    Ticket,
)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super().get_queryset(request).select_related(*self.select_related).prefetch_related(*self.prefetch_related)
        )


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class NoteInline(ReadOnlyInline):
    model = Note
    fields = ("created_at", "kind", "author", "channel", "text", "next_contact_at", "next_contact_user")
    select_related = ("author", "next_contact_user")


class PhaseMoveInline(ReadOnlyInline):
    model = PhaseMove
    fields = ("at", "kind", "from_cr", "to_cr", "decisions_display", "by", "reason")
    select_related = ("from_cr", "to_cr", "by")
    prefetch_related = ("decisions",)

    @admin.display(description=_("decisions taken"))
    def decisions_display(self, obj: PhaseMove) -> str:
        return "; ".join(str(d) for d in obj.decisions.all()) or "—"


class AnswerInline(ReadOnlyInline):
    model = Answer
    fields = ("question_code", "question_text", "cr", "value_display", "version", "answered_by", "answered_at")
    select_related = ("cr", "answered_by")
    prefetch_related = ("choices",)

    @admin.display(description=_("answer"))
    def value_display(self, obj: Answer) -> str:
        return "—" if obj.is_empty else obj.display()


def _visible(request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return visible_tickets(request.user, queryset)  # type: ignore[arg-type]


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "subject",
        "person",
        "service_type",
        "cr",
        "status",
        "company",
        "next_contact_at",
        "next_contact_user",
        "opened_at",
    )
    list_display_links = ("id", "subject")
    list_select_related = ("person", "service_type", "cr", "company", "next_contact_user")
    list_filter = ("status", "cr", "service_type", "company")
    search_fields = ("subject", "person__name")
    search_help_text = _("Subject, person (name or CPF/CNPJ) or ticket number.")
    date_hierarchy = "opened_at"
    inlines = [NoteInline, PhaseMoveInline, AnswerInline]
    fieldsets = (
        (None, {"fields": ("subject", "person", "contact_person", "company", "service_type")}),
        (_("Phase"), {"fields": ("status", "cr", "step", "workflow", "closed_at")}),
        (_("Next contact"), {"fields": ("channel", "priority", "next_contact_at", "next_contact_user")}),
        (_("Opening"), {"fields": ("opened_at", "opened_by", "version")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return _visible(request, super().get_queryset(request))  # type: ignore[arg-type]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        base = queryset
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        queryset |= base.filter(person__search_name__contains=fold(term))
        number = term.lstrip("#")
        if number.isdigit():
            queryset |= base.filter(pk=int(number))
        if digits(term) and all(ch.isdigit() or ch in ".-/ " for ch in term):
            queryset |= base.filter(person__document__startswith=digits(term))
        return queryset, duplicates


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "ticket", "kind", "author", "channel", "short_text")
    list_select_related = ("ticket", "author")
    list_filter = ("kind", "channel")
    search_fields = ("text", "ticket__subject")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Note]:
        qs = super().get_queryset(request)
        return qs.filter(ticket__in=_visible(request, Ticket.objects.all()))

    @admin.display(description=_("note"))
    def short_text(self, obj: Note) -> str:
        return str(obj)


class MoveDecisionInline(ReadOnlyInline):
    model = MoveDecision
    fields = ("question", "label")


@admin.register(PhaseMove)
class PhaseMoveAdmin(ReadOnlyAdmin):
    list_display = ("at", "ticket", "kind", "from_cr", "to_cr", "by")
    list_select_related = ("ticket", "from_cr", "to_cr", "by")
    list_filter = ("kind", "to_cr")
    date_hierarchy = "at"
    inlines = [MoveDecisionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PhaseMove]:
        qs = super().get_queryset(request)
        return qs.filter(ticket__in=_visible(request, Ticket.objects.all()))


class AnswerChoiceInline(ReadOnlyInline):
    model = AnswerChoice
    fields = ("label", "complement")


class AnswerRevisionInline(ReadOnlyInline):
    model = AnswerRevision
    fields = ("version", "old_value", "new_value", "by", "at")
    select_related = ("by",)


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = (
        "ticket",
        "question_code",
        "question_text",
        "value_display",
        "version",
        "answered_by",
        "answered_at",
    )
    list_select_related = ("ticket", "answered_by")
    list_filter = ("answer_type", "cr")
    search_fields = ("question_text", "question_code", "value_text", "ticket__subject")
    inlines = [AnswerChoiceInline, AnswerRevisionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Answer]:
        qs = super().get_queryset(request).prefetch_related("choices")
        return qs.filter(ticket__in=_visible(request, Ticket.objects.all()))

    @admin.display(description=_("answer"))
    def value_display(self, obj: Answer) -> str:
        return "—" if obj.is_empty else obj.display()


@admin.register(AnswerRevision)
class AnswerRevisionAdmin(ReadOnlyAdmin):
    list_display = ("at", "ticket", "question", "version", "old_value", "new_value", "by")
    list_select_related = ("ticket", "question", "by")
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AnswerRevision]:
        qs = super().get_queryset(request)
        return qs.filter(ticket__in=_visible(request, Ticket.objects.all()))


@admin.register(CrUnlock)
class CrUnlockAdmin(ReadOnlyAdmin):
    list_display = ("at", "ticket", "cr", "by", "reason")
    list_select_related = ("ticket", "cr", "by")
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CrUnlock]:
        qs = super().get_queryset(request)
        return qs.filter(ticket__in=_visible(request, Ticket.objects.all()))
