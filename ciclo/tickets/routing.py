"""Moving tickets along their workflow: the route, notes that move, supervisor moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.agenda.appointments import sync_next_contact
from ciclo.configurator.models import DecisionOption, Question, Workflow, WorkflowStep
from ciclo.insight.ledger import record_move
from ciclo.insight.summaries import contact_changing, notes_written
from ciclo.people.text import append_folded
from ciclo.sales.phases import OutcomeInput, enter_phase
from ciclo.tickets.access import check_can_work, is_assignable, with_work_checks
from ciclo.tickets.errors import (
    DecisionRequired,
    InvalidChoice,
    InvalidInput,
    NotAllowed,
    RequiredUnanswered,
    StaleTicket,
    TicketClosed,
)
from ciclo.tickets.models import Answer, Channel, MoveDecision, Note, PhaseMove, Ticket

# A route longer than this is a loop the workflow validation should have refused.
MAX_HOPS = 200

MOVE_ANY_STEP = "tickets.move_any_step"
OVERRIDE_REQUIRED = "tickets.override_required"


class StepMap:
    """The steps of the workflows a route passes, each workflow read once when first needed
    (WorkflowStep.objects.with_route: its steps with their CRs, and the decisions' options)."""

    def __init__(self) -> None:
        self._workflows: dict[int, dict[int, WorkflowStep]] = {}

    def steps(self, workflow_id: int) -> dict[int, WorkflowStep]:
        if workflow_id not in self._workflows:
            found = WorkflowStep.objects.filter(workflow_id=workflow_id).with_route()
            self._workflows[workflow_id] = {s.order: s for s in found}
        return self._workflows[workflow_id]

    def get(self, workflow_id: int, order: int) -> WorkflowStep:
        step = self.steps(workflow_id).get(order)
        if step is None:
            raise InvalidChoice(
                _("The workflow has no step %(order)s; ask an administrator to fix it.") % {"order": order}
            )
        return step

    def by_id(self, workflow_id: int, step_id: int) -> WorkflowStep:
        step = next((s for s in self.steps(workflow_id).values() if s.pk == step_id), None)
        if step is None:
            raise LookupError(step_id)
        return step

    def steps_all(self) -> list[WorkflowStep]:
        return [s for steps in self._workflows.values() for s in steps.values()]

    def first(self, workflow_id: int) -> WorkflowStep:
        steps = self.steps(workflow_id)
        if not steps:
            raise InvalidChoice(_("The workflow has no steps; ask an administrator to fix it."))
        return steps[min(steps)]


@dataclass
class Route:
    """Where a move ends (a CR step) and what it passed on the way."""

    target: WorkflowStep
    workflow_id: int
    hops: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[tuple[WorkflowStep, DecisionOption]] = field(default_factory=list)


def resolve(start: WorkflowStep, choices: Mapping[int, int], steps: StepMap) -> Route:
    """Follow the route from `start` until a CR step, taking `choices` (decision step id → option id)."""
    step = start
    workflow_id = start.workflow_id
    route = Route(target=start, workflow_id=workflow_id)
    for _hop in range(MAX_HOPS):
        if step.kind == WorkflowStep.Kind.CR:
            route.target = step
            route.workflow_id = workflow_id
            return route
        if step.kind == WorkflowStep.Kind.DECISION:
            options = list(step.options.all())
            chosen_id = choices.get(step.pk)
            if chosen_id is None:
                raise DecisionRequired(
                    step.pk,
                    step.order,
                    step.question,
                    [{"id": o.pk, "label": o.label, "target_order": o.target_order} for o in options],
                )
            option = next((o for o in options if o.pk == int(chosen_id)), None)
            if option is None:
                raise InvalidChoice(
                    _("Option %(option)s is not an option of the decision “%(question)s”.")
                    % {"option": chosen_id, "question": step.question},
                    step=step.pk,
                    options=[{"id": o.pk, "label": o.label} for o in options],
                )
            route.hops.append(
                {"order": step.order, "kind": step.kind, "question": step.question, "option": option.label}
            )
            route.decisions.append((step, option))
            step = steps.get(workflow_id, option.target_order)
        else:
            if step.target_workflow_id is None or step.target_order is None:
                raise InvalidChoice(
                    _("Step %(order)s jumps nowhere; ask an administrator to fix it.") % {"order": step.order}
                )
            route.hops.append(
                {"order": step.order, "kind": step.kind, "workflow": step.target_workflow_id, "to": step.target_order}
            )
            workflow_id = step.target_workflow_id
            step = steps.get(workflow_id, step.target_order)
    raise InvalidChoice(_("The route loops without reaching a phase; ask an administrator to fix the workflow."))


def first_route(workflow: Workflow, choices: Mapping[int, int] | None = None) -> Route:
    steps = StepMap()
    return resolve(steps.first(workflow.pk), choices or {}, steps)


def unanswered_required(ticket: Ticket) -> list[Question]:
    """Required, active questions of the ticket's current phase that have no answer (one query)."""
    answered = Answer.objects.filter(ticket_id=ticket.pk, question_id=OuterRef("pk"), is_empty=False)
    return list(
        Question.objects.of_service_type(ticket.service_type_id)
        .required_in(ticket.cr_id)
        .exclude(Exists(answered))
        .order_by("code_key")
    )


def lock_ticket(ticket: Ticket, by: Any, fields: tuple[str, ...] = ()) -> Ticket:
    """The ticket's row, locked for this transaction (only it, not the rows it refers to), read with
    whether `by` may work it (access.with_work_checks, which check_can_work reads). `fields`: only those."""
    qs = with_work_checks(Ticket.objects.select_for_update(), by)
    if fields:
        qs = qs.only(*fields)
    return qs.get(pk=ticket.pk)


def _clean_note(text: str, next_contact_user: Any, next_contact_at: dt.datetime | None) -> str:
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = [_("Write what was said in this contact: the note cannot be empty.")]
    if next_contact_user is not None and not is_assignable(next_contact_user):
        errors["next_contact_user"] = [_("The next-contact user must be an active user with a Ciclo role.")]
    if next_contact_at is not None and timezone.is_naive(next_contact_at):
        errors["next_contact_at"] = [_("The next-contact date needs a time zone.")]
    if errors:
        raise InvalidInput(errors)
    return text


@dataclass
class NoteResult:
    note: Note
    move: PhaseMove | None
    ticket: Ticket  # as this note left it: a change made after it is not in it


def record_note(
    ticket: Ticket,
    *,
    by: Any,
    text: str,
    channel: str = Channel.PHONE,
    next_contact_at: dt.datetime | None = None,
    next_contact_user: Any = None,
    move_on: bool = False,
    choices: Mapping[int, int] | None = None,
    override_reason: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
    outcome: OutcomeInput | None = None,
) -> NoteResult:
    """Record a contact's note; with `move_on`, follow the route to the next phase.

    A decision on the route needs its option in `choices`; required questions of
    the current phase block the move unless someone allowed to override them
    (the permission tickets.override_required: supervisors) gives `override_reason`.
    A note that closes a sales ticket needs its `outcome` (won or lost: sales.phases).
    """
    text = _clean_note(text, next_contact_user, next_contact_at)
    if outcome is not None and not move_on:
        raise InvalidInput({"outcome": [_("Only a note that moves on and closes the ticket records an outcome.")]})
    if channel not in Channel.values:
        raise InvalidInput({"channel": [_("“%(value)s” is not a channel.") % {"value": channel}]})
    override_reason = (override_reason or "").strip()
    if override_reason and not by.has_perm(OVERRIDE_REQUIRED):
        raise NotAllowed(_("You are not allowed to move on past unanswered required questions."))
    with transaction.atomic():
        locked = lock_ticket(ticket, by)
        with contact_changing(locked.pk):  # the sales summaries follow the contact and its ticket
            # Taken once the row is locked, so history's time order is the order the writers got the lock in.
            at = at or timezone.now()
            check_can_work(by, locked)
            if expected_version is not None and locked.version != expected_version:
                raise StaleTicket(locked.version)
            route: Route | None = None
            overridden: list[dict[str, Any]] = []
            if move_on:
                steps = StepMap()
                current = steps.by_id(locked.workflow_id, locked.step_id)
                locked.step = current
                if locked.is_closed or current.next_order is None:
                    raise TicketClosed()
                missing = unanswered_required(locked)
                if missing:
                    described = [{"id": q.pk, "code": q.code, "text": q.text} for q in missing]
                    if not override_reason:
                        raise RequiredUnanswered(described)
                    overridden = described
                route = resolve(steps.get(locked.workflow_id, current.next_order), choices or {}, steps)

            note = Note.objects.create(
                ticket=locked,
                kind=Note.Kind.CONTACT,
                text=text,
                channel=channel,
                author=by,
                created_at=at,
                next_contact_at=next_contact_at,
                next_contact_user=next_contact_user,
            )
            notes_written([note], {locked.pk: (locked.service_type_id, locked.company_id)})
            move = None
            fields = ["version"]
            if next_contact_at is not None:
                locked.next_contact_at = next_contact_at
                fields.append("next_contact_at")
            if next_contact_user is not None:
                locked.next_contact_user = next_contact_user
                fields.append("next_contact_user")
            if route is not None:
                move = apply_route(
                    locked,
                    route,
                    by=by,
                    at=at,
                    note=note,
                    kind=PhaseMove.Kind.MOVE,
                    reason=override_reason,
                    overridden=overridden,
                    outcome=outcome,
                )
                fields += ["workflow", "step", "cr", "status", "closed_at", "phase_entered_at"]
            locked.search_text = append_folded(locked.search_text, text)
            fields.append("search_text")
            locked.version += 1
            locked.save(update_fields=fields)
            sync_next_contact(locked, by=by, note=note, locked=True)  # the next contact on the agenda
    _refresh(ticket, locked)
    return NoteResult(note=note, move=move, ticket=ticket)


def move_to_step(
    ticket: Ticket,
    step: WorkflowStep,
    *,
    by: Any,
    reason: str,
    choices: Mapping[int, int] | None = None,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
    outcome: OutcomeInput | None = None,
) -> PhaseMove:
    """Move the ticket to any step of its workflow, with a reason: for those with the permission
    tickets.move_any_step (supervisors).

    A closed ticket moved to a phase that does not close is open again (a sales contact loses its
    outcome); a sales ticket moved to a closing phase needs its `outcome`.
    """
    if not by.has_perm(MOVE_ANY_STEP):
        raise NotAllowed(_("You are not allowed to move a ticket to any step."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": [_("Say why the ticket is moved: the reason cannot be empty.")]})
    with transaction.atomic():
        locked = lock_ticket(ticket, by)
        with contact_changing(locked.pk):  # the sales summaries follow the contact and its ticket
            at = at or timezone.now()  # after the lock: see record_note
            if step.workflow_id != locked.workflow_id:
                raise InvalidInput({"step": [_("The step must belong to the ticket's workflow.")]})
            check_can_work(by, locked)
            if expected_version is not None and locked.version != expected_version:
                raise StaleTicket(locked.version)
            steps = StepMap()
            locked.step = steps.by_id(locked.workflow_id, locked.step_id)
            route = resolve(steps.get(step.workflow_id, step.order), choices or {}, steps)
            note = Note.objects.create(
                ticket=locked, kind=Note.Kind.MOVE, text=reason, channel=Channel.SYSTEM, author=by, created_at=at
            )
            notes_written([note], {locked.pk: (locked.service_type_id, locked.company_id)})
            move = apply_route(
                locked, route, by=by, at=at, note=note, kind=PhaseMove.Kind.JUMP, reason=reason, outcome=outcome
            )
            locked.search_text = append_folded(locked.search_text, reason)
            locked.version += 1
            locked.save(
                update_fields=[
                    "workflow",
                    "step",
                    "cr",
                    "status",
                    "closed_at",
                    "phase_entered_at",
                    "version",
                    "search_text",
                ]
            )
            sync_next_contact(locked, by=by, locked=True)  # closed: its appointment cancelled
    _refresh(ticket, locked)
    return move


def apply_route(
    ticket: Ticket,
    route: Route,
    *,
    by: Any,
    at: dt.datetime,
    note: Note | None,
    kind: str,
    reason: str = "",
    overridden: list[dict[str, Any]] | None = None,
    outcome: OutcomeInput | None = None,
) -> PhaseMove:
    """Write the move the route makes (its row, the decisions taken) and put the ticket at its end:
    the target's phase, closed if that phase closes the process, open otherwise; in it since `at`
    (a sales contact follows: sales.phases.enter_phase). The caller saves the ticket."""
    target = route.target
    assert target.cr_id is not None and target.cr is not None, "a route ends on a CR step"
    enter_phase(ticket, target.cr, by=by, at=at, outcome=outcome, reason=reason)
    move = move_row(ticket, route, by=by, at=at, note=note, kind=kind, reason=reason, overridden=overridden)
    move.save(force_insert=True)
    if route.decisions:
        MoveDecision.objects.bulk_create(decision_rows(move, route))
    record_move(ticket, move)  # the phase ledger: the stay it leaves ends, the one it enters starts
    place(ticket, route, at)
    return move


def move_row(
    ticket: Ticket,
    route: Route,
    *,
    by: Any,
    at: dt.datetime,
    note: Note | None,
    kind: str,
    reason: str = "",
    overridden: list[dict[str, Any]] | None = None,
) -> PhaseMove:
    """The move row (unsaved) the route makes from where the ticket is (no "from" when it has no step yet)."""
    assert route.target.cr_id is not None, "a route ends on a CR step"
    return PhaseMove(
        ticket=ticket,
        note=note,
        kind=kind,
        from_step_id=ticket.step_id,
        to_step=route.target,
        from_cr_id=ticket.cr_id if ticket.step_id else None,
        to_cr_id=route.target.cr_id,
        route=route.hops,
        reason=reason,
        overrode_required=overridden or [],
        by=by,
        at=at,
    )


def decision_rows(move: PhaseMove, route: Route) -> list[MoveDecision]:
    """The decisions the route took on the way, as rows of `move` (saved)."""
    return [MoveDecision(move=move, step=s, option=o, question=s.question, label=o.label) for s, o in route.decisions]


def place(ticket: Ticket, route: Route, at: dt.datetime) -> None:
    """Put the ticket at the route's end: the target's phase, closed since `at` if that phase closes the
    process, open otherwise (not saved)."""
    target = route.target
    ticket.workflow_id = route.workflow_id
    ticket.step = target
    ticket.cr = target.cr  # type: ignore[assignment]
    if target.cr is not None and target.cr.closes_process:
        ticket.status = Ticket.Status.CLOSED
        ticket.closed_at = at
    else:
        ticket.status = Ticket.Status.OPEN
        ticket.closed_at = None


def _refresh(stale: Ticket, fresh: Ticket) -> None:
    """Bring the caller's ticket object up to date with what was saved."""
    if stale is fresh:
        return
    for name in (
        "workflow_id",
        "step_id",
        "cr_id",
        "status",
        "closed_at",
        "version",
        "next_contact_at",
        "next_contact_user_id",
        "search_text",
        "phase_entered_at",
    ):
        setattr(stale, name, getattr(fresh, name))
    for relation in ("step", "cr"):
        if Ticket._meta.get_field(relation).is_cached(fresh):  # type: ignore[union-attr]
            setattr(stale, relation, getattr(fresh, relation))


# ---- the route ahead: what the note form and the supervisor's move offer ---------------------------


@dataclass
class Lead:
    """Where a route goes until it needs someone to choose: a phase, a decision, or a broken workflow."""

    step: WorkflowStep | None = None  # the CR step reached
    decision: WorkflowStep | None = None  # the decision met before any phase
    error: str = ""

    @property
    def closes(self) -> bool:
        return bool(self.step is not None and self.step.cr is not None and self.step.cr.closes_process)


@dataclass
class OptionAhead:
    option: DecisionOption
    leads: Lead
    chosen: bool = False


@dataclass
class DecisionAhead:
    """A decision on the route, with where each option leads; `after` is the earlier choice that reaches it."""

    step: WorkflowStep
    options: list[OptionAhead]
    after: tuple[WorkflowStep, DecisionOption] | None = None

    @property
    def chosen(self) -> OptionAhead | None:
        return next((o for o in self.options if o.chosen), None)


@dataclass
class RouteAhead:
    """Every decision a move could meet before the next phase, and where the choices given lead.

    `target` is the phase the choices reach (None while a decision on the way has no choice).
    """

    first: Lead = field(default_factory=Lead)
    decisions: list[DecisionAhead] = field(default_factory=list)
    target: Lead | None = None
    closed: bool = False  # the ticket takes no move


def _lead(start: WorkflowStep, steps: StepMap) -> Lead:
    """Follow the route from `start` with no choice made: it reaches a phase, stops at a decision, or breaks."""
    steps.steps(start.workflow_id)  # seen, for steps_all(), even when `start` is the decision itself
    try:
        route = resolve(start, {}, steps)
    except DecisionRequired as pending:
        return Lead(decision=next(s for s in steps.steps_all() if s.pk == pending.step_id))
    except InvalidChoice as err:
        return Lead(error=err.message)
    return Lead(step=route.target)


def route_from(
    start: WorkflowStep, choices: Mapping[int, int] | None = None, steps: StepMap | None = None
) -> RouteAhead:
    """The route from `start`: every decision it can meet before a phase (a decision an option leads to as
    well), each option with where it leads, and where `choices` (decision step id → option id) end.

    Read-only: what a form offers. Moving (record_note, move_to_step) resolves the route again.
    `steps`: the workflows already read, if any.
    """
    steps = steps or StepMap()
    choices = choices or {}
    ahead = RouteAhead(first=_lead(start, steps))
    seen: set[int] = set()
    by_step: dict[int, DecisionAhead] = {}
    # Depth first, so that a decision an option leads to comes right after the decision that asks it.
    pending: list[tuple[Lead, tuple[WorkflowStep, DecisionOption] | None]] = [(ahead.first, None)]
    while pending:
        met, after = pending.pop()
        step = met.decision
        if step is None or step.pk in seen:
            continue
        seen.add(step.pk)
        options = []
        for option in step.options.all():
            try:
                leads = _lead(steps.get(step.workflow_id, option.target_order), steps)
            except InvalidChoice as err:
                leads = Lead(error=err.message)
            options.append(OptionAhead(option=option, leads=leads, chosen=choices.get(step.pk) == option.pk))
        decision = DecisionAhead(step=step, options=options, after=after)
        ahead.decisions.append(decision)
        by_step[step.pk] = decision
        pending.extend((o.leads, (step, o.option)) for o in reversed(options))
    lead: Lead | None = ahead.first
    while lead is not None and lead.decision is not None:
        chosen = by_step[lead.decision.pk].chosen
        lead = chosen.leads if chosen is not None else None
    ahead.target = lead
    return ahead


def route_ahead(ticket: Ticket, choices: Mapping[int, int] | None = None, steps: StepMap | None = None) -> RouteAhead:
    """What moving on from the ticket's current step would meet (see route_from)."""
    steps = steps or StepMap()
    current = steps.by_id(ticket.workflow_id, ticket.step_id)
    if ticket.is_closed or current.next_order is None:
        return RouteAhead(closed=True)
    try:
        start = steps.get(ticket.workflow_id, current.next_order)
    except InvalidChoice as err:
        return RouteAhead(first=Lead(error=err.message))
    return route_from(start, choices, steps)
