"""/appointments: a range of a user's agenda, one appointment, making and changing one.

Every write calls ciclo.agenda.appointments (who may manage which agenda, the values' rules, the
history, the ticket's next contact moved with its appointment); this module reads input and
renders. Whose agenda a request may read is the web's rule (visible_users): one's own, and a
supervisor's team; another agenda is a 403, an appointment on it a 404.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, model_validator

from ciclo.agenda.appointments import (
    AppointmentConflict,
    AppointmentInvalid,
    AppointmentNotAllowed,
    appointments_between,
    cancel_appointment,
    change_appointment,
    create_appointment,
    mark_done,
    visible_users,
)
from ciclo.agenda.models import Appointment
from ciclo.api.auth import user_of
from ciclo.api.common import find_user
from ciclo.api.errors import ApiError, forbidden, invalid, not_found
from ciclo.api.schemas import CREATE, KEEP, LIST, READ_BY_ID, WRITE, ChannelName, In, Out, UserRef, responses
from ciclo.fields import BodyId, BodyInt, Id, Username, When, _named, bounded
from ciclo.people.models import Person
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Ticket

router = Router()

# The longest range one request reads: a year of a busy agenda is a few thousand rows.
MAX_RANGE = dt.timedelta(days=366)

if TYPE_CHECKING:
    AppointmentStatus = Appointment.Status
    AppointmentSource = Appointment.Source
else:
    AppointmentStatus = _named("AppointmentStatus", Appointment.Status, "planned; done (the call was made); cancelled.")
    AppointmentSource = _named(
        "AppointmentSource", Appointment.Source, "next_contact: a ticket's next contact; manual: made by hand."
    )


# ---- schemas ----------------------------------------------------------------------------------


class AppointmentPersonRef(Out):
    id: int
    name: str


class AppointmentTicketRef(Out):
    id: int
    subject: str


class AppointmentOut(Out):
    id: int
    uid: uuid.UUID = Field(description="Stable across changes: the UID of the event in calendar feeds.")
    user: UserRef = Field(description="Whose agenda the appointment is on.")
    start: dt.datetime
    end: dt.datetime
    title: str
    person: AppointmentPersonRef | None
    ticket: AppointmentTicketRef | None
    channel: ChannelName | Literal[""]
    place: str
    notes: str
    status: AppointmentStatus
    source: AppointmentSource
    sequence: int = Field(description="Bumped by every change; send it back as `sequence` to change it.")
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: UserRef


class AppointmentList(Out):
    items: list[AppointmentOut]


class AppointmentRange(Schema):
    start: When = Field(description="Appointments that end after this moment (ISO 8601 with its offset)…")
    end: When = Field(description="…and start before this one; at most 366 days after `start`.")
    user: Username | None = Field(None, description="Whose agenda (a username); yours when omitted.")


class AppointmentIn(In):
    user: Username | None = Field(None, description="Whose agenda (a username); yours when omitted.")
    start: When
    end: When
    title: bounded(200, 1)  # type: ignore[valid-type]
    person: BodyId | None = Field(None, description="The person's id; the ticket's person when a ticket is given.")
    ticket: BodyId | None = Field(None, description="The ticket's id.")
    channel: ChannelName | Literal[""] = ""
    place: bounded(200) = ""  # type: ignore[valid-type]
    notes: bounded(20000) = ""  # type: ignore[valid-type]


class AppointmentPatch(In):
    """The fields given change, the others stay; `sequence` is the one read (a stale one is a 409)."""

    sequence: BodyInt = Field(description="The appointment's sequence when it was read.")
    user: Username = Field(KEEP, description="Move it to another agenda (a username).")
    start: When = Field(KEEP, description="A start without an end keeps the appointment's length.")
    end: When = KEEP
    title: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    person: BodyId | None = KEEP
    ticket: BodyId | None = KEEP
    channel: ChannelName | Literal[""] = KEEP
    place: bounded(200) = KEEP  # type: ignore[valid-type]
    notes: bounded(20000) = KEEP  # type: ignore[valid-type]
    status: Literal["done", "cancelled"] = Field(
        KEEP, description="Mark it done or cancel it (alone: not with other changes)."
    )
    reason: bounded(2000) = Field(KEEP, description="Why it is cancelled (with status cancelled).")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _nulls(self) -> AppointmentPatch:
        for name in ("user", "start", "end", "title", "channel", "place", "notes", "status", "reason"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


# ---- rendering --------------------------------------------------------------------------------

_RELATED = ("user", "person", "ticket", "created_by")


def _user(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username()}


def appointment_out(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "uid": a.uid,
        "user": _user(a.user),
        "start": a.start,
        "end": a.end,
        "title": a.title,
        "person": None if a.person is None else {"id": a.person.pk, "name": a.person.name},
        "ticket": None if a.ticket is None else {"id": a.ticket.pk, "subject": a.ticket.subject},
        "channel": a.channel,
        "place": a.place,
        "notes": a.notes,
        "status": a.status,
        "source": a.source,
        "sequence": a.sequence,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "created_by": _user(a.created_by),
    }


def _refused(exc: AppointmentInvalid | AppointmentConflict | AppointmentNotAllowed) -> ApiError:
    """The agenda's refusals in the API's error shape: 422 naming fields, 409 stale, 403 not allowed."""
    if isinstance(exc, AppointmentInvalid):
        return invalid(exc.errors)
    if isinstance(exc, AppointmentConflict):
        return ApiError(
            409,
            "conflict",
            exc.message,
            {"sequence": [_("The current sequence is %(n)s.") % {"n": exc.current_sequence}]},
        )
    return forbidden(exc.message)


def _get(request: HttpRequest, pk: int) -> Appointment:
    """The appointment if it is on an agenda the user may open; else 404 (its existence is not told)."""
    found = (
        Appointment.objects.select_related(*_RELATED).filter(pk=pk, user__in=visible_users(user_of(request))).first()
    )
    if found is None:
        raise not_found(_("No such appointment."))
    return found


def _person(pk: int | None, field: str = "person") -> Person | None:
    if pk is None:
        return None
    found = Person.objects.filter(pk=pk).first()
    if found is None:
        raise invalid({field: [_("There is no person %(id)s.") % {"id": pk}]})
    return found


def _ticket(request: HttpRequest, pk: int | None) -> Ticket | None:
    if pk is None:
        return None
    found = visible_tickets(user_of(request)).select_related("person").filter(pk=pk).first()
    if found is None:
        raise invalid({"ticket": [_("There is no ticket %(id)s you may see.") % {"id": pk}]})
    return found


# ---- endpoints ----------------------------------------------------------------------------------


@router.get("", response=responses({200: AppointmentList}, LIST), summary="A range of an agenda")
def list_appointments(request: HttpRequest, filters: Query[AppointmentRange]) -> dict[str, Any]:
    """The appointments of one agenda that overlap [start, end), cancelled ones too, in time order.
    Another user's agenda needs a supervisor (403 otherwise)."""
    me = user_of(request)
    if filters.end <= filters.start:
        raise invalid({"end": [_("The end must be after the start.")]})
    if filters.end - filters.start > MAX_RANGE:
        raise invalid({"end": [_("Ask for at most %(days)s days at a time.") % {"days": MAX_RANGE.days}]})
    owner = me if filters.user is None else find_user(filters.user, "user")
    if not visible_users(me).filter(pk=owner.pk).exists():
        raise forbidden(_("You may open only your own agenda; supervisors, their team's."))
    found = appointments_between([owner], filters.start, filters.end).select_related(*_RELATED)
    return {"items": [appointment_out(a) for a in found]}


@router.get("/{id}", response=responses({200: AppointmentOut}, READ_BY_ID), summary="An appointment")
def get_appointment(request: HttpRequest, id: Id) -> dict[str, Any]:
    return appointment_out(_get(request, id))


@router.post("", response=responses({201: AppointmentOut}, CREATE), summary="Make an appointment")
def create_appointment_api(request: HttpRequest, payload: AppointmentIn) -> Status:
    """On your agenda, or (a supervisor) on a team member's. With a ticket and no person, the ticket's person."""
    me = user_of(request)
    owner = me if payload.user is None else find_user(payload.user, "user")
    try:
        made = create_appointment(
            user=owner,
            start=payload.start,
            end=payload.end,
            title=payload.title,
            by=me,
            person=_person(payload.person),
            ticket=_ticket(request, payload.ticket),
            channel=payload.channel,
            place=payload.place,
            notes=payload.notes,
        )
    except (AppointmentInvalid, AppointmentNotAllowed) as exc:
        raise _refused(exc) from None
    return Status(201, appointment_out(_get(request, made.pk)))


@router.patch("/{id}", response=responses({200: AppointmentOut}, WRITE), summary="Change an appointment")
def update_appointment(request: HttpRequest, id: Id, payload: AppointmentPatch) -> dict[str, Any]:
    """Move it, change its fields, mark it done or cancel it. `sequence` must be the current one: an
    appointment changed since it was read is a 409 conflict (read it again). Moving a ticket's
    next-contact appointment moves the ticket's next contact too (a note on the ticket)."""
    me = user_of(request)
    appointment = _get(request, id)
    data = payload.dict(exclude_unset=True)
    sequence = data.pop("sequence")
    status, reason = data.pop("status", None), data.pop("reason", None)
    if reason is not None and status != "cancelled":
        raise invalid({"reason": [_("A reason goes with status cancelled only.")]})
    if status is not None and data:
        raise invalid({"status": [_("Change the status alone, without other fields.")]})
    try:
        if status == "cancelled":
            cancel_appointment(appointment, by=me, reason=reason or "", version=sequence)
        elif status == "done":
            mark_done(appointment, by=me, version=sequence)
        else:
            fields: dict[str, Any] = dict(data)
            if "user" in fields:
                fields["user"] = find_user(fields["user"], "user")
            if "person" in fields:
                fields["person"] = _person(fields["person"])
            if "ticket" in fields:
                fields["ticket"] = _ticket(request, fields["ticket"])
            change_appointment(appointment, by=me, version=sequence, **fields)
    except (AppointmentInvalid, AppointmentConflict, AppointmentNotAllowed) as exc:
        raise _refused(exc) from None
    return appointment_out(_get(request, id))
