"""/tickets: open, find, read; notes that move; supervisor moves; the cycle and its answers.

Every write calls the engine (ciclo.tickets.opening, .routing, .answering), which checks
the rules and writes the history; this module only reads input and renders. A ticket
the user may not see is a 404; one they see but may not work (a CR with members) a 403.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from ciclo.api import cursor as keyset
from ciclo.api.auth import user_of
from ciclo.api.common import find_user
from ciclo.api.configuration import question_out
from ciclo.api.errors import invalid
from ciclo.api.sales import outcome_input
from ciclo.api.schemas import (
    CREATE,
    LIST,
    READ_BY_ID,
    WRITE,
    AnswerIn,
    AnswersResultOut,
    ChoiceIn,
    HistoryOut,
    MoveIn,
    MoveResultOut,
    NoteIn,
    NoteResultOut,
    RelockIn,
    TicketCycleOut,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketStatus,
    UnlockIn,
    UnlockOut,
    responses,
)
from ciclo.configurator.classification import sort_key
from ciclo.configurator.models import Question, ResponsibilityCenter, ServiceType, Workflow, WorkflowStep
from ciclo.fields import Code, Day, Id, Username, bounded
from ciclo.people.models import Company, ContactPerson, Person
from ciclo.tickets import query
from ciclo.tickets.access import ticket_for
from ciclo.tickets.answering import AnswerInput, answer_json, cycle_of, relock_phase, save_answers, unlock_phase
from ciclo.tickets.errors import InvalidInput
from ciclo.tickets.models import Answer, AnswerRevision, CrUnlock, MoveDecision, Note, PhaseMove, Ticket
from ciclo.tickets.opening import open_ticket
from ciclo.tickets.routing import move_to_step, record_note

router = Router()

_LIST_RELATED = ("person", "service_type", "cr", "company", "next_contact_user")


# ---- rendering ------------------------------------------------------------------------------


def _user(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "username": user.get_username()}


def _cr(cr: ResponsibilityCenter | None) -> dict[str, Any] | None:
    return None if cr is None else {"id": cr.pk, "code": cr.code, "description": cr.description}


# A list item's fields as .values() names them: a page is read without model instances,
# which at 200 rows cost more than the query itself.
_ITEM_FIELDS = (
    "id",
    "subject",
    "status",
    "priority",
    "channel",
    "person_id",
    "person__name",
    "person__document",
    "service_type_id",
    "service_type__code",
    "service_type__description",
    "cr_id",
    "cr__code",
    "cr__description",
    "company_id",
    "company__code",
    "company__name",
    "next_contact_at",
    "next_contact_user_id",
    "next_contact_user__username",
    "opened_at",
    "closed_at",
    "version",
)


def _item(v: Mapping[str, Any]) -> dict[str, Any]:
    """A list item (TicketListItem) from the values of _ITEM_FIELDS."""
    user_id = v["next_contact_user_id"]
    return {
        "id": v["id"],
        "subject": v["subject"],
        "status": v["status"],
        "priority": v["priority"],
        "channel": v["channel"],
        "person": {"id": v["person_id"], "name": v["person__name"], "document": v["person__document"]},
        "service_type": {
            "id": v["service_type_id"],
            "code": v["service_type__code"],
            "description": v["service_type__description"],
        },
        "cr": {"id": v["cr_id"], "code": v["cr__code"], "description": v["cr__description"]},
        "company": {"id": v["company_id"], "code": v["company__code"], "name": v["company__name"]},
        "next_contact_at": v["next_contact_at"],
        "next_contact_user": None if user_id is None else {"id": user_id, "username": v["next_contact_user__username"]},
        "opened_at": v["opened_at"],
        "closed_at": v["closed_at"],
        "version": v["version"],
    }


def ticket_item(t: Ticket) -> dict[str, Any]:
    """A loaded ticket (with its related rows) as a list item: the same shape as the list's."""
    values = {}
    for name in _ITEM_FIELDS:
        value: Any = t
        for part in name.split("__"):
            value = None if value is None else getattr(value, part)
        values[name] = value
    return _item(values)


def ticket_out(t: Ticket) -> dict[str, Any]:
    contact = t.contact_person
    return {
        **ticket_item(t),
        "workflow": t.workflow.code,
        "step": {"id": t.step.pk, "order": t.step.order, "kind": t.step.kind},
        "closes_process": t.cr.closes_process,
        "contact_person": None if contact is None else {"id": contact.pk, "name": contact.name},
        "opened_by": _user(t.opened_by),
    }


def _route(hops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hops a move stored, their jumps' workflows named by code."""
    ids = {h["workflow"] for h in hops if h.get("workflow") is not None}
    codes = dict(Workflow.objects.filter(pk__in=ids).values_list("id", "code")) if ids else {}
    return [{**h, "workflow": codes.get(h["workflow"])} if "workflow" in h else h for h in hops]


def _move_out(move: PhaseMove, decisions: Iterable[MoveDecision]) -> dict[str, Any]:
    return {
        "id": move.pk,
        "kind": move.kind,
        "from_step": move.from_step.order if move.from_step else None,
        "to_step": move.to_step.order,
        "from_cr": _cr(move.from_cr),
        "to_cr": _cr(move.to_cr),
        "route": _route(move.route),
        "decisions": [
            {"step": d.step.order, "question": d.question, "option": d.option_id, "label": d.label} for d in decisions
        ],
        "reason": move.reason,
        "overrode_required": move.overrode_required,
        "by": _user(move.by),
        "at": move.at,
    }


def _note_out(note: Note, move: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": note.pk,
        "kind": note.kind,
        "text": note.text,
        "channel": note.channel,
        "author": _user(note.author),
        "created_at": note.created_at,
        "next_contact_at": note.next_contact_at,
        "next_contact_user": _user(note.next_contact_user),
        "move": move,
    }


def _moves() -> QuerySet[PhaseMove]:
    return PhaseMove.objects.select_related("from_step", "to_step", "from_cr", "to_cr", "by").prefetch_related(
        Prefetch("decisions", queryset=MoveDecision.objects.select_related("step").order_by("id"))
    )


# ---- finding tickets ------------------------------------------------------------------------


def _get_ticket(request: HttpRequest, pk: int) -> Ticket:
    """The ticket if the user may see it; else 404 (not 403: its existence is not told)."""
    related = (*_LIST_RELATED, "workflow", "step", "contact_person", "opened_by")
    return ticket_for(user_of(request), pk, Ticket.objects.select_related(*related))


Sort = Literal["opened_at", "next_contact_at", "id", "priority", "person"]
_CLASSIFICATION = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class TicketFilters(Schema):
    service_type: Code | None = Field(None, description="A type's classification; a group includes its types.")
    cr: Code | None = Field(None, description="The phase's classification.")
    status: TicketStatus | None = None
    person: Id | None = Field(None, description="The person's id.")
    person_search: bounded(200, 1) | None = Field(  # type: ignore[valid-type]
        None, description="Words of the person's name (3 letters at least, accents ignored) or a CPF/CNPJ."
    )
    company: Id | None = Field(None, description="The company's id.")
    next_contact_user: Username | None = Field(None, description="A username.")
    next_contact_from: Day | None = Field(None, description="Next contact on or after this day.")
    next_contact_to: Day | None = Field(None, description="Next contact on or before this day.")
    opened_from: Day | None = Field(None, description="Opened on or after this day.")
    opened_to: Day | None = Field(None, description="Opened on or before this day.")
    text: bounded(200, 1) | None = Field(None, description="Found in the subject or in a note.")  # type: ignore[valid-type]
    outcome: Literal["open", "won", "lost"] | None = Field(
        None, description="A sales ticket's outcome: open (not closed yet), won or lost."
    )
    sort: Sort = "opened_at"
    order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, Field(ge=1, le=query.MAX_LIMIT)] = 20
    cursor: bounded(500, 1) | None = Field(None, description="The previous page's next_cursor.")  # type: ignore[valid-type]


def ticket_filter(f: TicketFilters) -> query.TicketFilter:
    """The API's parameters (codes, ids, a username) as the shared ticket query's filter, checked by its rules.

    A service type's, a CR's code and a username are looked up (a query each, when given).
    """
    fields: dict[str, list[str]] = {}
    service_types: list[int] = []
    if f.service_type is not None:
        code = f.service_type
        named = Q(code=code)
        if _CLASSIFICATION.match(code) is not None:  # a group: the types under it too
            named |= Q(code_key__startswith=sort_key(code) + ".")
        found = list(ServiceType.objects.filter(named).values_list("id", flat=True))
        if not found:
            fields["service_type"] = [_("There is no service type “%(code)s”.") % {"code": code}]
        service_types += found
    crs: list[int] = []
    if f.cr is not None:
        cr_id = ResponsibilityCenter.objects.filter(code=f.cr).values_list("id", flat=True).first()
        if cr_id is None:
            fields["cr"] = [_("There is no responsibility center “%(code)s”.") % {"code": f.cr}]
        else:
            crs.append(cr_id)
    user_id = None
    if f.next_contact_user is not None:
        user_id = get_user_model().objects.filter(username=f.next_contact_user).values_list("id", flat=True).first()
        if user_id is None:
            fields["next_contact_user"] = [_("There is no user “%(user)s”.") % {"user": f.next_contact_user}]
    params: dict[str, Any] = {
        "service_types": [str(pk) for pk in service_types],
        "crs": [str(pk) for pk in crs],
        "status": f.status or "",
        "person": f.person_search or "",
        "company": "" if f.company is None else str(f.company),
        "next_contact_user": "" if user_id is None else str(user_id),
        "text": f.text or "",
        "outcome": f.outcome or "",
        "sort": ("-" if f.order == "desc" else "") + f.sort,
    }
    for name in ("next_contact_from", "next_contact_to", "opened_from", "opened_to"):
        day = getattr(f, name)
        params[name] = day.isoformat() if day else ""
    parsed, errors = query.parse_filter(params)
    renamed = {"service_types": "service_type", "crs": "cr", "person": "person_search"}
    for name, messages in errors.items():
        fields.setdefault(renamed.get(name, name), []).extend(messages)
    if fields:
        raise invalid(fields)
    return parsed


def list_page(
    user: Any, tf: query.TicketFilter, cursor: str | None, limit: int, person_id: int | None = None
) -> query.Page:
    """A page of the tickets `user` sees matching tf, its rows the values of a list item (_item).

    The web page's keyset pages (ciclo.tickets.query): past the first page the cursor replaces
    the range bound it makes redundant (seek_filter), so a deep page costs what the first does.
    Raises query.BadCursor.
    """
    qs = query.list_queryset(user, query.seek_filter(tf, cursor))
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    # person__search_name: the person sort's key, which the next cursor carries.
    return query.page(qs.values(*_ITEM_FIELDS, "person__search_name"), tf.sort, cursor, limit)


def _as_documented(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """body rendered as the API renders every answer, without pydantic checking it against the schema.

    _item builds the documented shape itself (the schemathesis tests hold it to the schema);
    having pydantic check a page of 200 items again costs more than the query.
    """
    from ciclo.api.api import api  # it mounts this router: imported when called, not when loaded

    return api.create_response(request, body, status=200)


@router.get("", response=responses({200: TicketPage}, LIST), summary="Find tickets (Consulta de Atendimentos)")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> HttpResponse:
    """Filtered (ciclo.tickets.query, as on the web page), sorted, and paged by cursor: pass
    `next_cursor` back as `cursor` until it is null. Every order ends by id, so pages never
    repeat or skip a ticket."""
    tf = ticket_filter(filters)
    try:
        found = list_page(user_of(request), tf, filters.cursor, filters.limit, filters.person)
    except query.BadCursor:
        raise keyset.refused() from None
    return _as_documented(request, {"items": [_item(v) for v in found.rows], "next_cursor": found.next_cursor})


@router.get("/{id}", response=responses({200: TicketOut}, READ_BY_ID), summary="A ticket")
def get_ticket(request: HttpRequest, id: Id) -> dict[str, Any]:
    return ticket_out(_get_ticket(request, id))


# ---- opening, notes, moves ------------------------------------------------------------------


def _found(model: Any, field: str, message: str, **lookup: Any) -> Any:
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise invalid({field: [message]})
    return found


def _choices(choices: list[ChoiceIn], workflow_id: int | None) -> dict[int, int]:
    """The request's choices (a decision by its order, in the ticket's workflow or the one named) as the
    engine takes them (decision step id → option id); 422 naming the choice that names no decision or option."""
    if not choices:
        return {}
    codes = {c.workflow for c in choices if c.workflow is not None}
    workflows = dict(Workflow.objects.filter(code__in=codes).values_list("code", "id")) if codes else {}
    steps: dict[tuple[int | None, int], WorkflowStep] = {
        (s.workflow_id, s.order): s
        for s in WorkflowStep.objects.filter(
            workflow_id__in={workflow_id, *workflows.values()}, kind=WorkflowStep.Kind.DECISION
        ).prefetch_related("options")
    }
    fields: dict[str, list[str]] = {}
    taken: dict[int, int] = {}
    for i, c in enumerate(choices):
        if c.workflow is not None and c.workflow not in workflows:
            fields[f"choices.{i}.workflow"] = [_("There is no workflow “%(code)s”.") % {"code": c.workflow}]
            continue
        step = steps.get((workflows[c.workflow] if c.workflow is not None else workflow_id, c.step))
        if step is None:
            fields[f"choices.{i}.step"] = [_("The workflow has no decision at step %(order)s.") % {"order": c.step}]
        elif c.option not in {o.pk for o in step.options.all()}:
            fields[f"choices.{i}.option"] = [
                _("Option %(option)s is not an option of the decision “%(question)s”.")
                % {"option": c.option, "question": step.question}
            ]
        else:
            taken[step.pk] = c.option
    if fields:
        raise invalid(fields)
    return taken


@router.post("", response=responses({201: TicketOut}, CREATE), summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketIn) -> Status:
    """At the first phase of the type's workflow, with the opening note. A decision before the
    first phase needs its option in `choices` (422 decision_required says which)."""
    user = user_of(request)
    person = _found(Person, "person", _("There is no person %(id)s.") % {"id": payload.person}, pk=payload.person)
    service_type = _found(
        ServiceType,
        "service_type",
        _("There is no service type “%(code)s”.") % {"code": payload.service_type},
        code=payload.service_type,
    )
    company = _found(Company, "company", _("There is no company %(id)s.") % {"id": payload.company}, pk=payload.company)
    contact = None
    if payload.contact_person is not None:
        contact = _found(
            ContactPerson,
            "contact_person",
            _("There is no contact person %(id)s.") % {"id": payload.contact_person},
            pk=payload.contact_person,
        )
    next_user = None
    if payload.next_contact_user is not None:
        next_user = find_user(payload.next_contact_user, "next_contact_user")
    ticket = open_ticket(
        person=person,
        service_type=service_type,
        subject=payload.subject,
        company=company,
        by=user,
        channel=payload.channel,
        contact_person=contact,
        next_contact_at=payload.next_contact_at,
        next_contact_user=next_user,
        text=payload.text,
        choices=_choices(payload.choices, service_type.workflow_id),
    )
    return Status(201, ticket_out(_get_ticket(request, ticket.pk)))


@router.post("/{id}/notes", response=responses({201: NoteResultOut}, WRITE), summary="Record a note (parecer)")
def add_note(request: HttpRequest, id: Id, payload: NoteIn) -> Status:
    """With `move_on`, the ticket follows its route to the next phase. 422 decision_required
    names the decision to answer in `choices`; 422 required_unanswered lists the questions
    (who holds the permission tickets.override_required, supervisors, may pass `override_reason`);
    409 ticket_closed or stale_ticket.
    The ticket in the answer is as this note left it, even if someone changed it right after."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    next_user = None
    if payload.next_contact_user is not None:
        next_user = find_user(payload.next_contact_user, "next_contact_user")
    result = record_note(
        ticket,
        by=user,
        text=payload.text,
        channel=payload.channel,
        next_contact_at=payload.next_contact_at,
        next_contact_user=next_user,
        move_on=payload.move_on,
        choices=_choices(payload.choices, ticket.workflow_id),
        override_reason=payload.override_reason,
        expected_version=payload.expected_version,
        outcome=outcome_input(payload.outcome),
    )
    move = None
    if result.move is not None:
        saved = _moves().get(pk=result.move.pk)
        move = _move_out(saved, saved.decisions.all())
    note = Note.objects.select_related("author", "next_contact_user").get(pk=result.note.pk)
    return Status(201, {"note": _note_out(note, move), "ticket": ticket_out(result.ticket)})


@router.post("/{id}/move", response=responses({200: MoveResultOut}, WRITE), summary="Move to any step (supervisor)")
def move_ticket(request: HttpRequest, id: Id, payload: MoveIn) -> dict[str, Any]:
    """`step` is the order of a step of the ticket's workflow; a reason is required. Needs the permission
    tickets.move_any_step (supervisors hold it): 403 not_allowed without it."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    step = WorkflowStep.objects.filter(workflow_id=ticket.workflow_id, order=payload.step).first()
    if step is None:
        raise invalid({"step": [_("The ticket's workflow has no step %(order)s.") % {"order": payload.step}]})
    move = move_to_step(
        ticket,
        step,
        by=user,
        reason=payload.reason,
        choices=_choices(payload.choices, ticket.workflow_id),
        expected_version=payload.expected_version,
        outcome=outcome_input(payload.outcome),
    )
    saved = _moves().get(pk=move.pk)
    return {"move": _move_out(saved, saved.decisions.all()), "ticket": ticket_out(ticket)}


# ---- history --------------------------------------------------------------------------------


@router.get("/{id}/history", response=responses({200: HistoryOut}, READ_BY_ID), summary="A ticket's history")
def ticket_history(request: HttpRequest, id: Id) -> dict[str, Any]:
    """Notes with the moves they made (and the decisions taken), unlocks, and, for supervisors,
    every change of an answer."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    moves = {m.note_id: m for m in _moves().filter(ticket=ticket)}
    notes = (
        Note.objects.filter(ticket=ticket).select_related("author", "next_contact_user").order_by("created_at", "id")
    )
    unlocks = CrUnlock.objects.filter(ticket=ticket).select_related("cr", "by", "relocked_by").order_by("at", "id")
    revisions = None
    if user.has_perm("tickets.view_answerrevision"):
        revisions = [
            {
                "id": r.pk,
                "question": r.answer.question_code,
                "answer_type": r.answer.answer_type,
                "version": r.version,
                "old_value": r.old_value,
                "new_value": r.new_value,
                "by": _user(r.by),
                "at": r.at,
            }
            for r in AnswerRevision.objects.filter(ticket=ticket).select_related("answer", "by").order_by("at", "id")
        ]
    return {
        "notes": [
            _note_out(n, _move_out(moves[n.pk], moves[n.pk].decisions.all()) if n.pk in moves else None) for n in notes
        ],
        "unlocks": [_unlock_out(u) for u in unlocks],
        "answer_revisions": revisions,
    }


# ---- the cycle ------------------------------------------------------------------------------


def _answer_out(answer: Answer | None, users: dict[int, Any]) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "answer_type": answer.answer_type,
        "value": answer_json(answer),
        "display": "" if answer.is_empty else answer.display(),
        "version": answer.version,
        "is_empty": answer.is_empty,
        "answered_by": _user(users.get(answer.answered_by_id)),
        "answered_at": answer.answered_at,
    }


@router.get(
    "/{id}/cycle", response=responses({200: TicketCycleOut}, READ_BY_ID), summary="A ticket's cycle and answers"
)
def ticket_cycle(request: HttpRequest, id: Id) -> dict[str, Any]:
    """Per CR, in the order the workflow meets them: questions, answers, and the phase's state
    (current; locked: an earlier phase, unlock it to change its answers; unlocked; ahead: not reached).
    An option `checked_by_default` is a suggestion to offer pre-selected: it is no answer until it is
    saved, and a required question is satisfied only by a saved answer."""
    ticket = _get_ticket(request, id)
    phases = cycle_of(ticket)
    user_ids = {a.answered_by_id for p in phases for _q, a in p.items if a is not None}
    users = get_user_model().objects.in_bulk(user_ids)
    return {
        "ticket": ticket.pk,
        "ticket_version": ticket.version,
        "phases": [
            {
                "cr": _cr(p.cr),
                "state": p.state,
                "questions": [
                    {
                        **{k: v for k, v in question_out(q).items() if k != "cr"},
                        "version": a.version if a else 0,
                        "answer": _answer_out(a, users),
                    }
                    for q, a in p.items
                ],
            }
            for p in phases
        ],
    }


@router.post("/{id}/answers", response=responses({200: AnswersResultOut}, WRITE), summary="Save answers (Gravar)")
def save_ticket_answers(request: HttpRequest, id: Id, payload: list[AnswerIn]) -> dict[str, Any]:
    """All or nothing; only the answers given are saved (a default option nobody sent is not).
    Each answer carries the `version` it was read at: 409 answer_conflict lists those changed since,
    with their current value. 422 names each bad value by the question's code, as the request named it.
    Answers of an earlier phase need it unlocked first: 409 phase_locked (423 is WebDAV's)."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    cycle_id = ticket.service_type.cycle_id
    codes = {a.question for a in payload}
    by_code = dict(
        Question.objects.filter(cycle_id=cycle_id, code__in=codes).values_list("code", "id") if codes else []
    )
    fields: dict[str, list[str]] = {}
    given = Counter(a.question for a in payload)
    for code, times in given.items():
        if code not in by_code:
            fields[code] = [_("The ticket's cycle has no question %(code)s.") % {"code": code}]
        elif times > 1:
            fields[code] = [_("This question is given twice in one save.")]
    if fields:
        raise invalid(fields)
    code_of = {qid: code for code, qid in by_code.items()}
    inputs = [
        AnswerInput(question_id=by_code[a.question], value=a.model_dump()["value"], version=a.version) for a in payload
    ]
    try:
        result = save_answers(ticket, inputs, by=user)
    except InvalidInput as exc:
        # The engine names questions by id; the request named them by code.
        raise invalid({code_of.get(int(k), k) if k.isdigit() else k: v for k, v in exc.errors.items()}) from None
    status = {
        **{a.question_id: "saved" for a in result.saved},
        **dict.fromkeys(result.cleared, "cleared"),
        **dict.fromkeys(result.unchanged, "unchanged"),
    }
    answers = {
        a.question_id: a
        for a in Answer.objects.filter(ticket=ticket, question_id__in=status).prefetch_related("choices")
    }
    types = dict(Question.objects.filter(pk__in=status).values_list("id", "answer_type"))
    return {
        "results": [
            {
                "question": code_of[qid],
                "answer_type": types[qid],
                "status": state,
                "version": answers[qid].version if qid in answers else 0,
                "value": answer_json(answers.get(qid)),
            }
            for qid, state in status.items()
        ]
    }


@router.post(
    "/{id}/unlock", response=responses({200: UnlockOut}, WRITE), summary="Unlock an earlier phase (Desbloquear)"
)
def unlock(request: HttpRequest, id: Id, payload: UnlockIn) -> dict[str, Any]:
    """Lets that phase's answers be changed; recorded once (unlocking again returns the record)."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    cr = _found(
        ResponsibilityCenter,
        "cr",
        _("There is no responsibility center “%(code)s”.") % {"code": payload.cr},
        code=payload.cr,
    )
    record = unlock_phase(ticket, cr, by=user, reason=payload.reason)
    return _unlock_out(CrUnlock.objects.select_related("cr", "by", "relocked_by").get(pk=record.pk))


@router.post("/{id}/relock", response=responses({200: UnlockOut}, WRITE), summary="Lock an unlocked phase again")
def relock(request: HttpRequest, id: Id, payload: RelockIn) -> dict[str, Any]:
    """Locks that phase's answers again, recording who and when on its unlock (a phase already locked again
    returns its last unlock; one never unlocked: 409 phase_not_unlocked)."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    cr = _found(
        ResponsibilityCenter,
        "cr",
        _("There is no responsibility center “%(code)s”.") % {"code": payload.cr},
        code=payload.cr,
    )
    record = relock_phase(ticket, cr, by=user)
    return _unlock_out(CrUnlock.objects.select_related("cr", "by", "relocked_by").get(pk=record.pk))


def _unlock_out(u: CrUnlock) -> dict[str, Any]:
    return {
        "id": u.pk,
        "cr": _cr(u.cr),
        "reason": u.reason,
        "by": _user(u.by),
        "at": u.at,
        "relocked_by": _user(u.relocked_by),
        "relocked_at": u.relocked_at,
    }
