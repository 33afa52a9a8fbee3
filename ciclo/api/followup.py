"""/followup: the daily follow-up list of sales contacts (its filters as the web page's), and recording a call.

The list is ciclo.sales.followup's, as the web page and its exports read it; a call is
ciclo.sales.calls.record_call (the phase's answers and the note in one transaction).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from ciclo.api import cursor as keyset
from ciclo.api.auth import user_of
from ciclo.api.common import find_user
from ciclo.api.errors import invalid
from ciclo.api.sales import outcome_input
from ciclo.api.schemas import (
    LIST,
    WRITE,
    AnswerIn,
    ChannelName,
    ChoiceIn,
    CrRef,
    In,
    NoteOut,
    Out,
    OutcomeIn,
    TicketOut,
    TypeRef,
    UserRef,
    responses,
)
from ciclo.api.tickets import _choices, _get_ticket, _move_out, _moves, _note_out, ticket_out
from ciclo.configurator.classification import sort_key
from ciclo.configurator.models import Question, ResponsibilityCenter, ServiceType
from ciclo.fields import BodyInt, Code, Flag, Id, When, bounded
from ciclo.sales import followup
from ciclo.sales.calls import record_call
from ciclo.tickets.answering import AnswerInput
from ciclo.tickets.errors import InvalidInput
from ciclo.tickets.models import Note

router = Router()

_CLASSIFICATION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
SortName = Literal["next_contact", "-next_contact", "days", "success", "value", "person", "phase"]
GroupName = Literal[followup.GROUP_KEYS]  # type: ignore[valid-type]
Money = Annotated[str, Field(pattern=r"^[0-9]{1,12}\.[0-9]{2}$", description="BRL, two decimals, as text.")]


class FollowupFilters(Schema):
    service_type: Code | None = Field(None, description="A sales type's classification; a group includes its types.")
    cr: Code | None = Field(None, description="The phase's classification.")
    channel: ChannelName | None = None
    stale: bool = Field(False, description="Only the contacts longer in their phase than its days to go stale.")
    success_min: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Success chance at least (%).")
    success_max: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Success chance at most (%).")
    text: bounded(200, 1) | None = Field(None, description="Found in the subject or in a note.")  # type: ignore[valid-type]
    sort: SortName = Field("next_contact", description="The order of each group's rows (then by id).")
    user: bounded(150, 1) | None = Field(  # type: ignore[valid-type]
        None,
        description="Supervisors: a username (that user's contacts) or `team` (everyone's). Others: their own.",
    )
    group: GroupName | None = Field(None, description="Only this group's rows (every group's counts all the same).")
    cursor: bounded(500, 1) | None = Field(  # type: ignore[valid-type]
        None, description="The group's previous next_cursor (with `group`)."
    )
    limit: Annotated[int, Field(ge=1, le=followup.MAX_PAGE_SIZE)] = followup.PAGE_SIZE


class PersonMention(Out):
    id: int
    name: str


class ProgressOut(Out):
    answered: int = Field(description="Active questions of the current phase answered.")
    total: int = Field(description="Active questions of the current phase.")
    required_missing: int = Field(description="Required questions of the current phase still unanswered.")


class FollowupItem(Out):
    id: int
    subject: str
    version: int = Field(description="The ticket's version: send it as a call's expected_version.")
    next_contact_at: dt.datetime | None = Field(description="The next contact (null in the group no_next_contact).")
    next_contact_user: UserRef | None
    person: PersonMention
    channel: ChannelName
    service_type: TypeRef
    referral: PersonMention | None = Field(description="The referral person (pessoa de indicação).")
    success: int | None = Field(description="The success chance (%).")
    expected_value: Money | None
    weighted_value: Money | None = Field(description="expected_value × success %.")
    cr: CrRef
    phase_entered_at: dt.datetime = Field(description="When the contact entered its phase.")
    days_in_phase: int = Field(description="Business days since the contact entered its phase.")
    stale_after_days: int | None = Field(description="The phase's days to go stale (null: never).")
    stale: bool
    progress: ProgressOut


class GroupOut(Out):
    key: GroupName  # type: ignore[valid-type]
    title: str
    count: int = Field(description="Every contact of the group the filter matches.")
    items: list[FollowupItem] = Field(description="A page of them (none when `group` names another).")
    next_cursor: str | None


class FollowupOut(Out):
    today: dt.date = Field(description="The day the groups are split by (the site's time zone).")
    user: UserRef | None = Field(description="Whose contacts; null for the team's.")
    count: int
    pipeline: Money = Field(description="Σ expected value × success % of every contact the filter matches.")
    expected_total: Money = Field(description="Σ expected value of every contact the filter matches.")
    groups: list[GroupOut]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _item(row: followup.FollowupRow) -> dict[str, Any]:
    return {
        "id": row.pk,
        "subject": row.subject,
        "version": row.version,
        "next_contact_at": row.next_contact_at,
        "next_contact_user": None
        if row.next_contact_user_id is None
        else {"id": row.next_contact_user_id, "username": row.next_contact_username},
        "person": {"id": row.person_id, "name": row.person},
        "channel": row.channel,
        "service_type": {"id": row.service_type_id, "code": row.service_type_code, "description": row.service_type},
        "referral": None if row.referral_id is None else {"id": row.referral_id, "name": row.referral},
        "success": row.success,
        "expected_value": _money(row.expected_value),
        "weighted_value": _money(row.weighted_value)
        if row.expected_value is not None and row.success is not None
        else None,
        "cr": {"id": row.cr_id, "code": row.phase_code, "description": row.phase},
        "phase_entered_at": row.phase_entered_at,
        "days_in_phase": row.days_in_phase or 0,
        "stale_after_days": row.stale_after_days,
        "stale": row.stale,
        "progress": {
            "answered": row.progress.answered,
            "total": row.progress.total,
            "required_missing": row.progress.required_missing,
        },
    }


def _params(f: FollowupFilters) -> dict[str, Any]:
    """The API's parameters (codes, a username) as the follow-up filter's, checked by its rules."""
    fields: dict[str, list[str]] = {}
    params: dict[str, Any] = {"sort": f.sort}
    if f.service_type is not None:
        named = Q(code=f.service_type)
        if _CLASSIFICATION.match(f.service_type) is not None:  # a group: the types under it too
            named |= Q(code_key__startswith=sort_key(f.service_type) + ".")
        found = [str(pk) for pk in ServiceType.objects.filter(named).values_list("id", flat=True)]
        if not found:
            fields["service_type"] = [_("There is no service type “%(code)s”.") % {"code": f.service_type}]
        params["service_types"] = found
    if f.cr is not None:
        cr_id = ResponsibilityCenter.objects.filter(code=f.cr).values_list("id", flat=True).first()
        if cr_id is None:
            fields["cr"] = [_("There is no responsibility center “%(code)s”.") % {"code": f.cr}]
        params["crs"] = [str(cr_id)] if cr_id else []
    if f.channel:
        params["channel"] = str(f.channel)
    if f.stale:
        params["stale"] = "1"
    for name in ("success_min", "success_max"):
        if getattr(f, name) is not None:
            params[name] = str(getattr(f, name))
    if f.text:
        params["text"] = f.text
    if fields:
        raise invalid(fields)
    return params


@router.get("", response=responses({200: FollowupOut}, LIST), summary="The follow-up list (Vendas Follow-Up)")
def followup_list(request: HttpRequest, filters: Query[FollowupFilters]) -> dict[str, Any]:
    """The open sales contacts of the token's user (a supervisor: of `user`, or the team's), in four groups:
    overdue, today, upcoming and no_next_contact, each with its count and a page of rows; the weighted
    pipeline of every contact the filter matches. Page a group with `group` and its `next_cursor`."""
    user = user_of(request)
    parsed, errors = followup.parse_filter(_params(filters))
    if errors:
        raise invalid(errors)
    raw_user: Any = filters.user or ""
    if raw_user and raw_user != followup.TEAM:
        raw_user = find_user(raw_user, "user").pk
    who = followup.whose(user, raw_user)
    groups = (filters.group,) if filters.group else followup.GROUP_KEYS
    cursors = {filters.group: filters.cursor} if filters.group and filters.cursor else {}
    if filters.cursor and not filters.group:
        raise invalid({"cursor": [_("Give the group the cursor pages (`group`).")]})
    try:
        listing = followup.followup_list(
            user, users=who, filters=parsed, cursors=cursors, groups=groups, size=filters.limit
        )
    except followup.query.BadCursor:
        raise keyset.refused() from None
    shown = None
    if who.kind != "team":
        shown_id = who.user_id
        shown = {"id": shown_id, "username": user.get_username()} if shown_id == user.pk else None
        if shown is None:
            from django.contrib.auth import get_user_model

            other = get_user_model().objects.filter(pk=shown_id or 0).values_list("username", flat=True).first()
            shown = {"id": shown_id, "username": other or ""}
    return {
        "today": listing.today,
        "user": shown,
        "count": listing.count,
        "pipeline": _money(listing.pipeline),
        "expected_total": _money(listing.expected_total),
        "groups": [
            {
                "key": page.key,
                "title": page.title,
                "count": page.count,
                "items": [_item(r) for r in page.rows],
                "next_cursor": page.next_cursor,
            }
            for page in listing.groups
        ],
    }


# ---- recording a call ----------------------------------------------------------------------------------------


class CallIn(In):
    text: bounded(20000, 1)  # type: ignore[valid-type]
    channel: ChannelName = ChannelName.PHONE
    next_contact_at: When | None = None
    next_contact_user: bounded(150, 1) | None = Field(default=None, description="A username.")  # type: ignore[valid-type]
    move_on: Flag = False
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)
    answers: list[AnswerIn] = Field(
        default_factory=list,
        max_length=500,
        description="The current phase's answers, saved with the note (needs the CRM option "
        "use_cycle_in_followup on; 422 on `answers` otherwise).",
    )
    outcome: OutcomeIn | None = Field(
        default=None, description="What a call that closes the sales contact records: won or lost."
    )
    override_reason: bounded(2000) = Field(  # type: ignore[valid-type]
        default="", description="Why the ticket moves on past unanswered required questions (supervisors)."
    )
    expected_version: BodyInt | None = Field(
        default=None, description="The ticket's version when read: 409 stale_ticket if it changed."
    )


class CallAnswerOut(Out):
    question: str = Field(description="The question's code.")
    status: Literal["saved", "cleared", "unchanged"]


class CallOut(Out):
    note: NoteOut
    ticket: TicketOut
    answers: list[CallAnswerOut]


@router.post(
    "/{id}/calls", response=responses({201: CallOut}, WRITE), summary="Record a call: the phase's answers and a note"
)
def record_followup_call(request: HttpRequest, id: Id, payload: CallIn) -> Status:
    """The answers of the current phase and the note together, or nothing: 422 names a bad answer by its
    code, a bad outcome by `outcome.…`; with `move_on`, required questions must be answered (by this call
    or before), 422 required_unanswered otherwise; 409 stale_ticket when expected_version is old."""
    user = user_of(request)
    ticket = _get_ticket(request, id)
    next_user = find_user(payload.next_contact_user, "next_contact_user") if payload.next_contact_user else None
    codes = {a.question for a in payload.answers}
    by_code = (
        dict(Question.objects.filter(cycle_id=ticket.service_type.cycle_id, code__in=codes).values_list("code", "id"))
        if codes
        else {}
    )
    fields: dict[str, list[str]] = {}
    for code, times in Counter(a.question for a in payload.answers).items():
        if code not in by_code:
            fields[f"answers.{code}"] = [_("The ticket's cycle has no question %(code)s.") % {"code": code}]
        elif times > 1:
            fields[f"answers.{code}"] = [_("This question is given twice in one save.")]
    if fields:
        raise invalid(fields)
    code_of = {qid: code for code, qid in by_code.items()}
    inputs = [
        AnswerInput(question_id=by_code[a.question], value=a.model_dump()["value"], version=a.version)
        for a in payload.answers
    ]
    try:
        result = record_call(
            ticket,
            by=user,
            text=payload.text,
            channel=payload.channel,
            next_contact_at=payload.next_contact_at,
            next_contact_user=next_user,
            move_on=payload.move_on,
            answers=inputs,
            outcome=outcome_input(payload.outcome),
            version=payload.expected_version,
            choices=_choices(payload.choices, ticket.workflow_id),
            override_reason=payload.override_reason,
        )
    except InvalidInput as exc:
        # The engine names questions by id; the request named them by code.
        renamed = {}
        for key, messages in exc.errors.items():
            if key.isdigit():
                renamed[f"answers.{code_of.get(int(key), key)}"] = messages
            elif key in ("won_value", "lost_reason", "outcome_text"):
                renamed[f"outcome.{key.removeprefix('outcome_') if key == 'outcome_text' else key}"] = messages
            else:
                renamed[key] = messages
        raise invalid(renamed) from None
    move = None
    if result.note.move is not None:
        saved = _moves().get(pk=result.note.move.pk)
        move = _move_out(saved, saved.decisions.all())
    note = Note.objects.select_related("author", "next_contact_user").get(pk=result.note.note.pk)
    status = {
        **{a.question_id: "saved" for a in result.answers.saved},
        **dict.fromkeys(result.answers.cleared, "cleared"),
        **dict.fromkeys(result.answers.unchanged, "unchanged"),
    }
    return Status(
        201,
        {
            "note": _note_out(note, move),
            "ticket": ticket_out(_get_ticket(request, id)),
            "answers": [{"question": code_of[qid], "status": state} for qid, state in status.items()],
        },
    )
