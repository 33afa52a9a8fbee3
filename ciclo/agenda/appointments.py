"""The agenda's actions: the one home for the web, the API, jobs and the demo.

A user manages their own appointments; supervisors (and admins) those of everyone they may
look at (visible_users). A ticket's next contact and its appointment move together: a note
that sets the next contact moves the appointment (sync_next_contact, called by the engine),
and moving the appointment records the new next contact on the ticket through the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ciclo.accounts.roles import is_supervisor, role_of, users_with_role
from ciclo.agenda.models import MAX_DURATION, Appointment, AppointmentChange
from ciclo.people.models import Person
from ciclo.rows import insert
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Channel, Note, Ticket

# How long a next contact's appointment lasts when the note gives only its start.
NEXT_CONTACT_LENGTH = dt.timedelta(minutes=30)
TITLE_LENGTH = 200
PLACE_LENGTH = 200

# What change_appointment() takes; each change bumps the sequence (iCalendar's SEQUENCE).
CHANGEABLE = ("user", "start", "end", "title", "person", "ticket", "channel", "place", "notes")


class AppointmentInvalid(Exception):
    """Bad values; `errors` maps each field to its messages. Nothing was changed."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


class AppointmentConflict(Exception):
    """The appointment changed since it was read (its sequence moved on). Nothing was changed."""

    code = "conflict"

    def __init__(self, current_sequence: int) -> None:
        self.current_sequence = current_sequence
        self.message = _("Someone else changed this appointment since you opened it. Reload it and try again.")
        super().__init__(self.message)


class AppointmentNotAllowed(PermissionDenied):
    """The user may not manage this agenda (or work the appointment's ticket). Nothing was changed."""

    code = "not_allowed"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# ---- who sees and manages which agenda -------------------------------------------------------------


def visible_users(user: Any) -> QuerySet[Any]:
    """The users whose calendars `user` may open: their own; a supervisor's or an admin's, the team's
    (every active user with a Ciclo role, as the home page's team)."""
    User = get_user_model()
    if role_of(user) is None:
        return User._default_manager.none()
    if is_supervisor(user):
        return users_with_role()
    return User._default_manager.filter(pk=user.pk)


def may_manage(by: Any, owner_id: int) -> bool:
    """Whether `by` may create and change appointments on the agenda of the user `owner_id`."""
    if role_of(by) is None:
        return False
    if by.pk == owner_id:
        return True
    return is_supervisor(by) and visible_users(by).filter(pk=owner_id).exists()


def _check_manage(by: Any, owner_id: int) -> None:
    if not may_manage(by, owner_id):
        raise AppointmentNotAllowed(_("You may manage only your own agenda; supervisors, their team's."))


def appointments_between(users: Iterable[Any] | QuerySet[Any], start: dt.datetime, end: dt.datetime) -> QuerySet:
    """The appointments of `users` (users or ids) that overlap [start, end), in time order."""
    ids = users if isinstance(users, QuerySet) else [getattr(u, "pk", u) for u in users]
    return Appointment.objects.filter(user__in=ids).between(start, end).order_by("start", "id")


# ---- checking values -------------------------------------------------------------------------------


def _local(value: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def _json(value: Any) -> Any:
    """A value as the history keeps it: times in ISO, in the site's time zone; related rows by id."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def _check(values: dict[str, Any], by: Any, only: set[str] | None = None) -> dict[str, list[str]]:
    """The errors of an appointment's values (those named in `only`, or all), by field.

    `user`, `person` and `ticket` are rows, or ids when unchanged (`only` then leaves them out).
    """

    def checks(*names: str) -> bool:
        return only is None or any(n in only for n in names)

    errors: dict[str, list[str]] = {}
    if checks("user"):
        user = values["user"]
        if user is None or role_of(user) is None:
            errors["user"] = [_("The appointment must be on the agenda of an active user with a Ciclo role.")]
    if checks("start", "end"):
        start, end = values["start"], values["end"]
        if not isinstance(start, dt.datetime):
            errors["start"] = [_("Give the start as a date and time.")]
        elif timezone.is_naive(start):
            errors["start"] = [_("The start needs a time zone.")]
        if not isinstance(end, dt.datetime):
            errors["end"] = [_("Give the end as a date and time.")]
        elif timezone.is_naive(end):
            errors["end"] = [_("The end needs a time zone.")]
        if "start" not in errors and "end" not in errors:
            if end <= start:
                errors["end"] = [_("The end must be after the start.")]
            elif end - start > MAX_DURATION:
                errors["end"] = [_("An appointment lasts at most %(days)s days.") % {"days": MAX_DURATION.days}]
    title = values["title"]
    if not title:
        errors["title"] = [_("Give the appointment a title.")]
    elif len(title) > TITLE_LENGTH:
        errors["title"] = [_("The title has at most %(n)s characters.") % {"n": TITLE_LENGTH}]
    if values["channel"] not in ("", *Channel.values):
        errors["channel"] = [_("“%(value)s” is not a channel.") % {"value": values["channel"]}]
    if len(values["place"]) > PLACE_LENGTH:
        errors["place"] = [_("The place has at most %(n)s characters.") % {"n": PLACE_LENGTH}]
    if checks("person", "ticket"):
        person, ticket = values["person"], values["ticket"]
        if checks("person") and person is not None and not isinstance(person, Person):
            errors["person"] = [_("Choose a person.")]
        if (
            checks("ticket")
            and ticket is not None
            and (not isinstance(ticket, Ticket) or not visible_tickets(by).filter(pk=ticket.pk).exists())
        ):
            errors["ticket"] = [_("Choose a ticket you may see.")]
        if "person" not in errors and "ticket" not in errors and ticket is not None and person is not None:
            ticket_person = ticket.person_id if isinstance(ticket, Ticket) else None
            if ticket_person is None:  # unchanged, by id: read its person
                ticket_person = Ticket.objects.filter(pk=ticket).values_list("person_id", flat=True).first()
            if ticket_person != _key(person):
                errors["person"] = [_("The person must be the ticket's person.")]
    return errors


def _clean_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# ---- the actions -------------------------------------------------------------------------------------


def create_appointment(
    *,
    user: Any,
    start: dt.datetime,
    end: dt.datetime,
    title: str,
    by: Any,
    person: Person | None = None,
    ticket: Ticket | None = None,
    channel: str = "",
    place: str = "",
    notes: str = "",
) -> Appointment:
    """An appointment made by hand on `user`'s agenda (the ticket's person when no person is given)."""
    if user is not None:
        _check_manage(by, user.pk)
    values = {
        "user": user,
        "start": start,
        "end": end,
        "title": _clean_text(title),
        "person": person,
        "ticket": ticket,
        "channel": channel or "",
        "place": _clean_text(place),
        "notes": _clean_text(notes),
    }
    if errors := _check(values, by):
        raise AppointmentInvalid(errors)
    if ticket is not None and person is None:
        values["person"] = ticket.person
    with transaction.atomic():
        appointment = Appointment.objects.create(
            **values, source=Appointment.Source.MANUAL, status=Appointment.Status.PLANNED, created_by=by
        )
        _log(appointment, AppointmentChange.Kind.CREATED, _created_changes(appointment), by=by)
    return appointment


def change_appointment(appointment: Appointment, *, by: Any, version: int | None = None, **fields: Any) -> Appointment:
    """Change a planned appointment's fields (CHANGEABLE); `version`: the sequence the user saw.

    Moving a ticket's next-contact appointment (its start, or whose agenda it is on) records the
    new next contact on the ticket through the engine, as a note: both sides keep the history.
    A start given without an end keeps the appointment's length.
    """
    unknown = set(fields) - set(CHANGEABLE)
    if unknown:
        raise TypeError(f"change_appointment() takes no field {', '.join(sorted(unknown))}")
    with transaction.atomic():
        # The ticket's row first, as the engine takes it before the appointment's: no deadlock.
        ticket = None
        if appointment.ticket_id is not None and appointment.source == Appointment.Source.NEXT_CONTACT:
            ticket = Ticket.objects.select_for_update().only("id").get(pk=appointment.ticket_id)
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _check_manage(by, locked.user_id)
        if version is not None and locked.sequence != version:
            raise AppointmentConflict(locked.sequence)
        if not locked.is_planned:
            raise AppointmentInvalid({"status": [_("Only a planned appointment can be changed.")]})
        # Related rows compare by id: the rows are read only when given.
        before: dict[str, Any] = {n: getattr(locked, _attname(n)) for n in CHANGEABLE}
        values = dict(before)
        for name, value in fields.items():
            values[name] = _clean_text(value) if name in ("title", "place", "notes", "channel") else value
        if "start" in fields and "end" not in fields and isinstance(values["start"], dt.datetime):
            values["end"] = values["start"] + (locked.end - locked.start)
        changed = {n for n in CHANGEABLE if _key(values[n]) != before[n]}
        if not changed:
            return locked
        if "user" in changed and values["user"] is not None:
            _check_manage(by, values["user"].pk)
        errors = _check(values, by, only=changed)
        if locked.is_next_contact and "ticket" in changed:
            errors["ticket"] = [_("A ticket's next contact stays with its ticket.")]
        if errors:
            raise AppointmentInvalid(errors)
        changes = {n: [_json(before[n]), _json(values[n])] for n in CHANGEABLE if n in changed}
        for name in changed:
            setattr(locked, name, values[name])
        locked.sequence += 1
        locked.save(update_fields=[*sorted(changed), "sequence", "updated_at"])
        _log(locked, AppointmentChange.Kind.CHANGED, changes, by=by)
        if ticket is not None and locked.is_next_contact and changed & {"start", "user"}:
            _move_next_contact(locked, ticket, by=by, old_start=before["start"], new_user="user" in changed)
    for name in (*(_attname(n) for n in CHANGEABLE), "start", "end", "sequence", "updated_at"):
        setattr(appointment, name, getattr(locked, name))
    return locked


def _attname(name: str) -> str:
    return f"{name}_id" if name in ("user", "person", "ticket") else name


def _key(value: Any) -> Any:
    """A value as it compares with what is stored: a related row by its id."""
    return value.pk if hasattr(value, "pk") else value


def _move_next_contact(
    appointment: Appointment, ticket: Ticket, *, by: Any, old_start: dt.datetime, new_user: bool
) -> None:
    """The ticket's next contact, moved with its appointment: a note through the engine (channel System,
    so that it is not taken for the call itself)."""
    from ciclo.tickets import routing  # the engine calls this module back (sync_next_contact)

    text = _("Next contact moved in the agenda: from %(old)s to %(new)s.") % {
        "old": _local(old_start),
        "new": _local(appointment.start),
    }
    if new_user:
        text += " " + _("Now with %(user)s.") % {"user": _name(appointment.user)}
    try:
        routing.record_note(
            ticket,
            by=by,
            text=text,
            channel=Channel.SYSTEM,
            next_contact_at=appointment.start,
            next_contact_user=appointment.user if new_user else None,
        )
    except routing.NotAllowed as err:
        raise AppointmentNotAllowed(err.message) from err
    except routing.InvalidInput as err:
        names = {"next_contact_at": "start", "next_contact_user": "user"}
        raise AppointmentInvalid({names.get(k, k): v for k, v in err.errors.items()}) from err


def cancel_appointment(
    appointment: Appointment, *, by: Any, reason: str = "", version: int | None = None
) -> Appointment:
    """Cancel a planned appointment. A ticket's next contact stays as it is on the ticket."""
    return _finish(appointment, Appointment.Status.CANCELLED, by=by, reason=_clean_text(reason), version=version)


def mark_done(appointment: Appointment, *, by: Any, version: int | None = None) -> Appointment:
    """Mark a planned appointment done (a note recorded on its ticket by its user marks it so too)."""
    return _finish(appointment, Appointment.Status.DONE, by=by, reason="", version=version)


def _finish(appointment: Appointment, status: str, *, by: Any, reason: str, version: int | None) -> Appointment:
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _check_manage(by, locked.user_id)
        if version is not None and locked.sequence != version:
            raise AppointmentConflict(locked.sequence)
        if locked.status == status:
            message = (
                _("The appointment is already done.")
                if status == Appointment.Status.DONE
                else _("The appointment is already cancelled.")
            )
            raise AppointmentInvalid({"status": [message]})
        if not locked.is_planned:
            raise AppointmentInvalid({"status": [_("Only a planned appointment can be changed.")]})
        _set_status(locked, status, by=by, reason=reason)
    appointment.status, appointment.sequence = locked.status, locked.sequence
    return locked


def _set_status(appointment: Appointment, status: str, *, by: Any, reason: str, at: dt.datetime | None = None) -> None:
    old = appointment.status
    appointment.status = status
    appointment.sequence += 1
    appointment.save(update_fields=["status", "sequence", "updated_at"])
    kind = AppointmentChange.Kind.DONE if status == Appointment.Status.DONE else AppointmentChange.Kind.CANCELLED
    _log(appointment, kind, {"status": [old, status]}, by=by, reason=reason, at=at)


def _log(
    appointment: Appointment,
    kind: str,
    changes: dict[str, Any],
    *,
    by: Any,
    reason: str = "",
    at: dt.datetime | None = None,
) -> AppointmentChange:
    row = _log_row(appointment, kind, changes, by=by, reason=reason, at=at)
    row.save(force_insert=True)
    return row


def _log_row(
    appointment: Appointment, kind: str, changes: dict[str, Any], *, by: Any, reason: str, at: dt.datetime | None = None
) -> AppointmentChange:
    """A history row (unsaved) of the appointment."""
    return AppointmentChange(
        appointment=appointment,
        kind=kind,
        changes=changes,
        reason=reason,
        sequence=appointment.sequence,
        by=by,
        at=at or timezone.now(),
    )


def _created_changes(appointment: Appointment) -> dict[str, Any]:
    """A new appointment's values as its first history row keeps them (related rows by id: none is read)."""
    values = {name: getattr(appointment, _attname(name)) for name in CHANGEABLE}
    return {name: [None, _json(value)] for name, value in values.items() if value not in (None, "")}


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()).strip()


# ---- a ticket's next contact on the agenda -----------------------------------------------------------


def is_done_call(appointment: Appointment, note: Note) -> bool:
    """Whether a note is the call an appointment was for: a contact recorded by the appointment's user
    from the start of the appointment's day on (a note the agenda writes itself, channel System, is not)."""
    if note.kind != Note.Kind.CONTACT or note.channel == Channel.SYSTEM or note.author_id != appointment.user_id:
        return False
    day = timezone.localtime(appointment.start).replace(hour=0, minute=0, second=0, microsecond=0)
    return note.created_at >= day


def sync_next_contact(ticket: Ticket, *, by: Any, note: Note | None = None, locked: bool = False) -> Appointment | None:
    """Put the ticket's next contact on its next-contact user's agenda: the one planned next-contact
    appointment of the ticket, created, moved, or cancelled when the ticket is closed.

    Called by the engine after each note (`note`: the note just recorded; when it is the call the
    appointment was for, that one is marked done and the next contact gets its own) and after each
    move. `locked`: the caller holds the ticket's row lock and `ticket` is that row as saved.
    Idempotent: run twice, it changes nothing the second time. Returns the planned appointment.
    """
    with transaction.atomic():
        if not locked:
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        current = (
            Appointment.objects.select_for_update()
            .filter(ticket_id=ticket.pk, source=Appointment.Source.NEXT_CONTACT, status=Appointment.Status.PLANNED)
            .first()
        )
        if ticket.is_closed:
            if current is not None:
                _set_status(current, Appointment.Status.CANCELLED, by=by, reason=_("The ticket was closed."))
            return None
        if current is not None and note is not None and is_done_call(current, note):
            _set_status(current, Appointment.Status.DONE, by=by, reason=_("A note was recorded on the ticket."))
            current = None
        user_id, start = ticket.next_contact_user_id, ticket.next_contact_at
        if user_id is None:
            if current is not None:
                reason = _("The ticket has no next-contact user.")
                _set_status(current, Appointment.Status.CANCELLED, by=by, reason=reason)
            return None
        if current is not None:
            if current.user_id == user_id and current.start == start:
                return current
            changes: dict[str, Any] = {}
            if current.user_id != user_id:
                changes["user"] = [current.user_id, user_id]
            end = start + (current.end - current.start)
            if current.start != start:
                changes["start"] = [_json(current.start), _json(start)]
                changes["end"] = [_json(current.end), _json(end)]
            current.user_id, current.start, current.end = user_id, start, end
            current.sequence += 1
            current.save(update_fields=["user", "start", "end", "sequence", "updated_at"])
            reason = _("The ticket's next contact changed.")
            _log(current, AppointmentChange.Kind.CHANGED, changes, by=by, reason=reason)
            return current
        # Done or cancelled already at this very time (the call was made, or it was called off): no new one.
        if Appointment.objects.filter(
            ticket_id=ticket.pk, source=Appointment.Source.NEXT_CONTACT, user_id=user_id, start=start
        ).exists():
            return None
        appointment = _next_contact(ticket, by)
        appointment.save(force_insert=True)
        _created_log(appointment, by).save(force_insert=True)
        return appointment


def plan_next_contacts(tickets: Sequence[Ticket], *, by: Any) -> list[Appointment]:
    """The next-contact appointments of tickets just opened together (saved, none of them on an agenda yet):
    what sync_next_contact does for each — an open ticket with a next-contact user gets its appointment."""
    appointments = insert(
        [_next_contact(t, by) for t in tickets if not t.is_closed and t.next_contact_user_id is not None]
    )
    insert([_created_log(a, by) for a in appointments])
    return appointments


def _next_contact(ticket: Ticket, by: Any) -> Appointment:
    """The ticket's next contact as a new appointment (unsaved) on its next-contact user's agenda."""
    start, user_id = ticket.next_contact_at, ticket.next_contact_user_id
    assert user_id is not None, "a next contact has its user"
    return Appointment(
        user_id=user_id,
        start=start,
        end=start + NEXT_CONTACT_LENGTH,
        title=ticket.subject[:TITLE_LENGTH],
        person_id=ticket.person_id,
        ticket_id=ticket.pk,
        channel=ticket.channel,
        source=Appointment.Source.NEXT_CONTACT,
        created_by=by,
    )


def _created_log(appointment: Appointment, by: Any) -> AppointmentChange:
    """The first history row (unsaved) of a next-contact appointment just made."""
    kind = AppointmentChange.Kind.CREATED
    return _log_row(appointment, kind, _created_changes(appointment), by=by, reason=_("The ticket's next contact."))
