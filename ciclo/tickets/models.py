"""Tickets and everything that happens to them. Change them only through the engine
(`ciclo.tickets.opening`, `.routing`, `.answering`), which keeps history and rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ciclo.configurator.models import (
    AnswerType,
    DecisionOption,
    Option,
    Priority,
    Question,
    ResponsibilityCenter,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.people.models import Company, ContactPerson, Person


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    VISIT = "visit", _("Visit")
    WHATSAPP = "whatsapp", _("WhatsApp")
    CHAT = "chat", _("Chat")
    LETTER = "letter", _("Letter")
    SYSTEM = "system", _("System")
    OTHER = "other", _("Other")


class TicketQuerySet(models.QuerySet["Ticket"]):
    def open(self) -> TicketQuerySet:
        return self.filter(status=Ticket.Status.OPEN)

    def closed(self) -> TicketQuerySet:
        return self.filter(status=Ticket.Status.CLOSED)

    def due(self, at: dt.datetime | None = None) -> TicketQuerySet:
        """Open tickets whose next contact, with anyone, is due by the end of today."""
        at = timezone.localtime(at or timezone.now())
        end_of_day = at.replace(hour=23, minute=59, second=59, microsecond=999999)
        return self.open().filter(next_contact_user__isnull=False, next_contact_at__lte=end_of_day)

    def due_for(self, user: Any, at: dt.datetime | None = None) -> TicketQuerySet:
        """Open tickets whose next contact, with this user, is due by the end of today."""
        return self.due(at).filter(next_contact_user=user)


class Ticket(models.Model):
    """One conversation with a person (Atendimento), moving through the phases of its workflow."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("person"))
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("service type")
    )
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("workflow"))
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("step"))
    cr = models.ForeignKey(
        ResponsibilityCenter, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("phase")
    )
    status = models.CharField(_("status"), max_length=6, choices=Status.choices, default=Status.OPEN)
    subject = models.CharField(_("subject"), max_length=200)
    contact_person = models.ForeignKey(
        ContactPerson,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("contact person"),
    )
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("company"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE)
    priority = models.PositiveSmallIntegerField(_("priority"), default=3)
    next_contact_at = models.DateTimeField(_("next contact"))
    next_contact_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_contacts",
        verbose_name=_("next contact with"),
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Set by the engine on opening and on every move (routing.apply_route): what "days in phase" counts from.
    phase_entered_at = models.DateTimeField(_("in this phase since"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1)
    # The subject and every note's text, folded (ciclo.people.text): what the text filter reads.
    # The engine appends to it with each note; a trigram index serves it on PostgreSQL.
    search_text = models.TextField(_("search text"), default="", db_default="", editable=False)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("move_any_step", _("Can move a ticket to any step of its workflow")),
            ("override_required", _("Can move on past unanswered required questions")),
        ]
        indexes = [
            models.Index(
                fields=["cr", "service_type", "next_contact_at", "id"],
                condition=Q(status="open"),
                name="ticket_queue_open",
            ),
            # `status` in the home's indexes too: the ORM binds 'open' as a parameter, and SQLite
            # then checks it on every entry of a partial index, from the table unless the index
            # holds it (see tickets 0006).
            models.Index(
                fields=["next_contact_user", "next_contact_at", "id", "status"],
                condition=Q(status="open"),
                name="ticket_user_queue_open",
            ),
            models.Index(
                fields=["cr", "service_type", "next_contact_user", "next_contact_at", "id"],
                condition=Q(status="open"),
                name="ticket_cr_user_queue_open",
            ),
            # The home page: a user's contacts due counted per phase (and one phase listed); everyone's
            # due in order, and counted per phase, for a supervisor's team view.
            models.Index(
                fields=["status", "next_contact_user", "cr", "next_contact_at", "id"], name="ticket_user_phase"
            ),
            models.Index(
                fields=["next_contact_at", "id", "next_contact_user", "status"],
                condition=Q(status="open"),
                name="ticket_due_open",
            ),
            models.Index(
                fields=["status", "cr", "next_contact_at", "id", "next_contact_user"], name="ticket_phase_due"
            ),
            models.Index(fields=["person", "-opened_at"], name="ticket_person_opened"),
            models.Index(fields=["-opened_at", "-id"], name="ticket_opened"),
        ]

    @property
    def priority_label(self) -> str:
        """The priority with its meaning, as the query page and the exports show it ("1 – highest")."""
        return Priority.describe(self.priority)

    def __str__(self) -> str:
        return f"#{self.pk} · {self.subject}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Note(models.Model):
    """What an agent records after each contact (Parecer); the one way a ticket changes phase."""

    class Kind(models.TextChoices):
        OPENING = "opening", _("Opening")
        CONTACT = "contact", _("Contact")
        MOVE = "move", _("Supervisor move")
        AUTOMATIC = "automatic", _("Automatic")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes", verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CONTACT)
    text = models.TextField(_("note"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    next_contact_at = models.DateTimeField(_("next contact"), null=True, blank=True)
    next_contact_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("next contact with"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="note_ticket_created"),
            # The insight's people dashboard: a period's notes counted per author and day (index only).
            models.Index(fields=["created_at", "author"], name="note_created_author"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class PhaseMove(models.Model):
    """A ticket changing step: from, to, who, when, which decisions, why."""

    class Kind(models.TextChoices):
        OPEN = "open", _("Opening")
        MOVE = "move", _("Moved on")
        JUMP = "jump", _("Moved by a supervisor")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="moves", verbose_name=_("ticket"))
    note = models.OneToOneField(
        Note, null=True, blank=True, on_delete=models.PROTECT, related_name="move", verbose_name=_("note")
    )
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices, default=Kind.MOVE)
    from_step = models.ForeignKey(
        WorkflowStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from step")
    )
    to_step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="+", verbose_name=_("to step"))
    from_cr = models.ForeignKey(
        ResponsibilityCenter,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("from phase"),
    )
    to_cr = models.ForeignKey(
        ResponsibilityCenter, on_delete=models.PROTECT, related_name="+", verbose_name=_("to phase")
    )
    route = models.JSONField(
        _("route"), default=list, help_text=_("The steps passed on the way, with the decisions taken.")
    )
    reason = models.TextField(_("reason"), blank=True)
    overrode_required = models.JSONField(_("required questions overridden"), default=list, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("phase move")
        verbose_name_plural = _("phase moves")
        indexes = [models.Index(fields=["ticket", "at"], name="move_ticket_at")]

    def __str__(self) -> str:
        return f"{self.from_cr or '—'} → {self.to_cr}"


class MoveDecision(models.Model):
    """A decision taken on a move's route; keeps the option in use (it cannot be deleted)."""

    move = models.ForeignKey(PhaseMove, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("move"))
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="+", verbose_name=_("decision"))
    option = models.ForeignKey(DecisionOption, on_delete=models.PROTECT, related_name="+", verbose_name=_("option"))
    question = models.CharField(_("question"), max_length=300)
    label = models.CharField(_("option"), max_length=200)

    class Meta:
        verbose_name = _("decision taken")
        verbose_name_plural = _("decisions taken")

    def __str__(self) -> str:
        return f"{self.question}: {self.label}"


class Answer(models.Model):
    """A ticket's answer to one question. Keeps the question as it was when answered."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="answers", verbose_name=_("ticket"))
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers", verbose_name=_("question"))
    cr = models.ForeignKey(ResponsibilityCenter, on_delete=models.PROTECT, related_name="+", verbose_name=_("phase"))
    question_code = models.CharField(_("classification"), max_length=40)
    question_text = models.CharField(_("question"), max_length=300)
    answer_type = models.CharField(_("answer type"), max_length=20, choices=AnswerType.choices)
    value_text = models.TextField(_("text"), blank=True)
    value_number = models.DecimalField(_("number"), max_digits=18, decimal_places=4, null=True, blank=True)
    value_date = models.DateField(_("date"), null=True, blank=True)
    value_time = models.TimeField(_("time"), null=True, blank=True)
    is_empty = models.BooleanField(_("cleared"), default=False, help_text=_("The answer was given, then emptied."))
    version = models.PositiveIntegerField(_("version"), default=1)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("answered by")
    )
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    class Meta:
        ordering = ["ticket", "question_code"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["ticket", "question"], name="answer_unique")]

    def __str__(self) -> str:
        return f"{self.question_code} · {self.display()}"

    def value(self) -> Any:
        """The answer as the engine takes it: text, Decimal, date, time, or a list of choices."""
        t = self.answer_type
        if t in (AnswerType.SHORT_TEXT, AnswerType.LONG_TEXT):
            return self.value_text
        if t in (AnswerType.NUMBER, AnswerType.MONEY):
            return self.value_number
        if t == AnswerType.DATE:
            return self.value_date
        if t == AnswerType.TIME:
            return self.value_time
        return [{"option": c.option_id, "label": c.label, "complement": c.complement} for c in self.choices.all()]

    def display(self) -> str:
        value = self.value()
        if isinstance(value, list):
            return "; ".join(f"{c['label']} ({c['complement']})" if c["complement"] else c["label"] for c in value)
        if isinstance(value, Decimal):
            return f"{value.normalize():f}" if self.answer_type == AnswerType.NUMBER else f"{value:.2f}"
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
        return "" if value is None else str(value)


class AnswerChoice(models.Model):
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="choices", verbose_name=_("answer"))
    option = models.ForeignKey(
        Option, on_delete=models.PROTECT, related_name="answer_choices", verbose_name=_("option")
    )
    label = models.CharField(_("option"), max_length=200)
    complement = models.TextField(_("complement"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("chosen option")
        verbose_name_plural = _("chosen options")
        constraints = [models.UniqueConstraint(fields=["answer", "option"], name="answer_choice_unique")]

    def __str__(self) -> str:
        return self.label


class AnswerRevision(models.Model):
    """Every change of an answer: who, when, old value, new value."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("answer"))
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="answer_revisions", verbose_name=_("ticket")
    )
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+", verbose_name=_("question"))
    version = models.PositiveIntegerField(_("version"))
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("answer revision")
        verbose_name_plural = _("answer revisions")
        indexes = [models.Index(fields=["ticket", "at"], name="revision_ticket_at")]

    def __str__(self) -> str:
        return f"{self.question_id} v{self.version}"


class CrUnlock(models.Model):
    """A user unlocking an earlier CR's answers of a ticket (Desbloquear), with why; and locking them again.

    The phase stays unlocked until `relocked_at`; a phase has at most one unlock open at a time.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="unlocks", verbose_name=_("ticket"))
    cr = models.ForeignKey(ResponsibilityCenter, on_delete=models.PROTECT, related_name="+", verbose_name=_("phase"))
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    relocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("locked again by"),
    )
    relocked_at = models.DateTimeField(_("locked again at"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("unlocked phase")
        verbose_name_plural = _("unlocked phases")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "cr"], condition=Q(relocked_at__isnull=True), name="crunlock_one_open_per_phase"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.cr}"


class Scenario(models.Model):
    """A named ticket query filter, private to its owner or shared with everyone."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scenarios", verbose_name=_("owner")
    )
    shared = models.BooleanField(_("shared with everyone"), default=False)
    params = models.JSONField(_("filter"), default=dict)
    columns = models.JSONField(_("visible columns"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                name="scenario_owner_name_unique",
                violation_error_message=_("You already have a scenario with this name."),
            )
        ]

    def __str__(self) -> str:
        return self.name
