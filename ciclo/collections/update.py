"""Updating collections: overdue receivables become collection tickets, paid collections close themselves.

`update_collections` is the one home of the rule; the button, `ciclo collections update`, the API's
task and the daily schedule all call it. One run is one transaction, with the update's lock row
(UpdateLock) locked first:

- two runs at once are one: the second waits for the first and then finds nothing new;
- a run killed at any point leaves nothing behind but its CollectionRun row, still "running" (the
  next run marks it interrupted), and the next run does the whole work again;
- a run with nothing new changes nothing (a receivable is in at most one open collection: the
  partial unique constraint on CollectionItem).

The selection and the grouping are set-based queries read a chunk of debtors at a time; each ticket
opened (a chunk's tickets together: tickets.opening.open_tickets), and each paid collection closed,
through the ticket engine.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ciclo.collections.models import (
    CollectionItem,
    CollectionPreference,
    CollectionRun,
    Receivable,
    UpdateLock,
)
from ciclo.configurator.models import CrmOptions, ServiceType, WorkflowStep
from ciclo.insight.summaries import notes_written
from ciclo.people.models import Email
from ciclo.people.text import fold_all
from ciclo.tickets.errors import TicketError
from ciclo.tickets.models import Channel, Note, Ticket
from ciclo.tickets.opening import Opening, open_tickets
from ciclo.tickets.routing import MOVE_ANY_STEP, move_to_step
from ciclo.tickets.values import format_number

logger = logging.getLogger("ciclo.collections")

# Debtors read and worked per round: what bounds the update's memory.
CHUNK = 1000
# Collections opened together (tickets.opening.open_tickets), the progress told after each.
OPEN_BATCH = 100

Progress = Callable[[int, int], None]


class UpdateRefused(Exception):
    """The CRM options do not let the update run (no collection type, no user to sign)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Setup:
    options: CrmOptions
    service_type: ServiceType
    signer: Any
    delegate: Any
    today: dt.date
    at: dt.datetime
    run: CollectionRun


def money(value: Decimal) -> str:
    """An amount in BRL as the active language writes it (R$ 1.234,56 in pt-BR)."""
    from ciclo.configurator.models import AnswerType

    return format_number(value, AnswerType.MONEY, currency=True)


def update_collections(
    *,
    by: Any = None,
    trigger: str = CollectionRun.Trigger.MANUAL,
    dry_run: bool = False,
    at: dt.datetime | None = None,
    progress: Progress | None = None,
) -> CollectionRun:
    """Open, add to and close collections as the receivables and the CRM options say; returns the run.

    A run the options refuse (UpdateRefused) is recorded failed with the reason, and returned; an
    unexpected error is recorded failed and raised. A dry run does the work and undoes it: its
    counts say what a run would do.
    """
    run = CollectionRun.objects.create(
        started_at=timezone.now(), started_by=by, trigger=trigger, dry_run=dry_run, status=CollectionRun.Status.RUNNING
    )
    try:
        with transaction.atomic():
            UpdateLock.objects.get_or_create(id=1)
            UpdateLock.objects.select_for_update().get(id=1)  # the second of two runs waits here
            # Runs still "running" that started before this one hold no lock: they were killed.
            CollectionRun.objects.filter(status=CollectionRun.Status.RUNNING, started_at__lte=run.started_at).exclude(
                pk=run.pk
            ).update(
                status=CollectionRun.Status.FAILED,
                finished_at=timezone.now(),
                error=_("Interrupted: the run stopped before it finished; a later run did its work."),
            )
            counts = _update(run, by=by, at=at or timezone.now(), progress=progress)
            if dry_run:
                transaction.set_rollback(True)
            else:
                _finish(run, CollectionRun.Status.DONE, counts)
        if dry_run:
            _finish(run, CollectionRun.Status.DONE, counts)
    except UpdateRefused as exc:
        _finish(run, CollectionRun.Status.FAILED, {}, exc.message)
    except BaseException as exc:
        _finish(run, CollectionRun.Status.FAILED, {}, f"{type(exc).__name__}: {exc}")
        raise
    logger.info("collections update run=%s status=%s counts=%s", run.pk, run.status, run.counts)
    return run


def _finish(run: CollectionRun, status: str, counts: dict[str, int], error: str = "") -> None:
    run.status, run.counts, run.error, run.finished_at = status, counts, error, timezone.now()
    CollectionRun.objects.filter(pk=run.pk).update(
        status=status, counts=counts, error=error, finished_at=run.finished_at
    )


def _setup(run: CollectionRun, by: Any, at: dt.datetime) -> _Setup:
    options = CrmOptions.objects.select_related(
        "collection_analytical_type", "collection_delegate_user", "automatic_note_user"
    ).get_or_create(pk=1)[0]
    service_type = options.collection_analytical_type
    if service_type is None:
        raise UpdateRefused(_("Choose the analytical collection type in the CRM options first."))
    signer = options.automatic_note_user or by
    if signer is None:
        raise UpdateRefused(
            _("Choose the user who signs automatic notes in the CRM options: this update has no acting user.")
        )
    today = timezone.localdate(at)
    if refusal := service_type.opening_refusal(today):
        raise UpdateRefused(refusal)
    return _Setup(options, service_type, signer, options.collection_delegate_user, today, at, run)


def _update(run: CollectionRun, *, by: Any, at: dt.datetime, progress: Progress | None) -> dict[str, int]:
    setup = _setup(run, by, at)
    counts = {"released": 0, "closed": 0, "not_closed": 0, "opened": 0, "added": 0, "receivables": 0, "emailed": 0}
    counts["released"] = _release_closed(setup)
    closed, not_closed = _close_paid(setup)
    counts["closed"], counts["not_closed"] = closed, not_closed
    eligible = eligible_receivables(setup.options, setup.today)
    if not eligible.exists():  # nothing new, the usual rerun: one read in due-date order, no debtor walked
        if progress is not None:
            progress(0, 0)
        return counts
    total = eligible.values("person_id").distinct().count()
    done = 0
    if progress is not None:
        progress(0, total)
    for persons in _debtor_chunks(eligible):

        def step(worked: int, base: int = done) -> None:
            if progress is not None:
                progress(base + worked, total)

        _collect_chunk(setup, eligible, persons, counts, step)
        done += len(persons)
        step(0, done)
    return counts


# ---- what is collected -----------------------------------------------------------------------------


def open_items() -> QuerySet[CollectionItem]:
    return CollectionItem.objects.filter(released_at__isnull=True)


def eligible_receivables(options: CrmOptions, today: dt.date) -> QuerySet[Receivable]:
    """Receivables to collect on `today`: open, overdue by at least the options' days, of a kind that is
    collected, with no administrative status or one that enters collection, of an active debtor and
    company, and in no open collection."""
    cutoff = today - dt.timedelta(days=options.collection_days_overdue)
    return (
        Receivable.objects.filter(open_balance__gt=0, due_date__lte=cutoff, kind__collected=True)
        .filter(Q(administrative_status__isnull=True) | Q(administrative_status__enters_collection=True))
        .filter(person__active=True, company__active=True)
        .exclude(Exists(open_items().filter(receivable_id=OuterRef("pk"))))
    )


def _debtor_chunks(eligible: QuerySet[Receivable]) -> Iterator[list[int]]:
    """The debtors of `eligible` in id order, CHUNK at a time (keyset: never the whole list in memory)."""
    last = 0
    while True:
        persons = list(
            eligible.filter(person_id__gt=last)
            .order_by("person_id")
            .values_list("person_id", flat=True)
            .distinct()[:CHUNK]
        )
        if not persons:
            return
        yield persons
        if len(persons) < CHUNK:  # the last chunk: no read to find there is none after it
            return
        last = persons[-1]


def _collect_chunk(
    setup: _Setup,
    eligible: QuerySet[Receivable],
    persons: list[int],
    counts: dict[str, int],
    progress: Callable[[int], None],
) -> None:
    """Collect the receivables of `persons` (a chunk of debtors); `progress(n)`: n of them worked."""
    by_company = setup.options.collection_grouping == CrmOptions.CollectionGrouping.PERSON_COMPANY
    groups: dict[tuple[int, int | None], list[Receivable]] = defaultdict(list)
    rows = (
        eligible.filter(person_id__in=persons)
        .select_related("person", "company")
        .order_by("person_id", "company_id", "due_date", "id")
    )
    for receivable in rows:
        groups[(receivable.person_id, receivable.company_id if by_company else None)].append(receivable)
    existing: dict[tuple[int, int | None], int] = {}
    open_collections = (
        Ticket.objects.filter(service_type_id=setup.service_type.pk, status=Ticket.Status.OPEN, person_id__in=persons)
        .order_by("opened_at", "id")
        .values_list("id", "person_id", "company_id")
    )
    for collection_id, person_id, company_id in open_collections:
        existing.setdefault((person_id, company_id if by_company else None), collection_id)
    emails = _addresses(persons) if setup.options.email_debtor_on_collection else {}
    new = [key for key in groups if key not in existing]
    listings = {key: _listing(receivables) for key, receivables in groups.items()}
    worked: set[int] = set()
    for start in range(0, len(new), OPEN_BATCH):  # the progress moves as the collections are opened
        batch = new[start : start + OPEN_BATCH]
        for key, ticket in zip(batch, _open(setup, [(groups[key], listings[key]) for key in batch]), strict=True):
            existing[key] = ticket.pk
            worked.add(key[0])
            counts["opened"] += 1
            if address := emails.get(key[0]):
                _email(setup, ticket, address, groups[key])
                counts["emailed"] += 1
        progress(len(worked))
    opened = set(new)
    items: list[CollectionItem] = []
    notes: list[Note] = []  # on the collections added to (an opened one has its note from the engine)
    for key, receivables in groups.items():
        if key not in opened:
            notes.append(_automatic_note(setup, existing[key], _("Added to this collection:") + "\n" + listings[key]))
            counts["added"] += 1
        items += [
            CollectionItem(ticket_id=existing[key], receivable=r, added_at=setup.at, run=setup.run) for r in receivables
        ]
        counts["receivables"] += len(receivables)
    CollectionItem.objects.bulk_create(items, batch_size=1000)
    Note.objects.bulk_create(notes, batch_size=1000)
    notes_written(notes)  # the insight's summaries
    _append_search_text(notes)


def _append_search_text(notes: Sequence[Note]) -> None:
    """Each note's words onto its ticket's search text, in the database (one statement a few hundred
    tickets: an agent's note on one of them at the same moment keeps its words too)."""
    for start in range(0, len(notes), 500):
        part = notes[start : start + 500]
        words = Case(*(When(pk=n.ticket_id, then=Value(" " + fold_all(n.text))) for n in part), default=Value(""))
        Ticket.objects.filter(pk__in=[n.ticket_id for n in part]).update(
            search_text=Concat(F("search_text"), words, output_field=TextField())
        )


def _listing(receivables: Sequence[Receivable]) -> str:
    lines = [
        _("%(document)s/%(instalment)s, due %(due)s: %(balance)s open of %(amount)s")
        % {
            "document": r.document,
            "instalment": r.instalment,
            "due": date_format(r.due_date, "SHORT_DATE_FORMAT"),
            "balance": money(r.open_balance),
            "amount": money(r.amount),
        }
        for r in receivables
    ]
    total = sum((r.open_balance for r in receivables), Decimal("0"))
    return "\n".join([*lines, _("Total open: %(total)s") % {"total": money(total)}])


def _automatic_note(setup: _Setup, ticket_id: int, text: str) -> Note:
    return Note(
        ticket_id=ticket_id,
        kind=Note.Kind.AUTOMATIC,
        text=text,
        channel=Channel.SYSTEM,
        author=setup.signer,
        created_at=setup.at,
    )


def _open(setup: _Setup, groups: Sequence[tuple[Sequence[Receivable], str]]) -> list[Ticket]:
    """A collection ticket for each group of receivables (one debtor's, or one debtor's at one company)
    with its listing, opened together through the engine, delegated to the options' user; the listing
    is the automatic note the engine writes after the opening note."""
    text = _("Collection opened by the collections update.")
    openings = [
        Opening(
            person=g[0].person,
            company=g[0].company,
            subject=_("Collection: %(person)s") % {"person": g[0].person.name[:180]},
            text=text,
            automatic_note=_("Collection opened for:") + "\n" + listing,
        )
        for g, listing in groups
    ]
    try:
        return open_tickets(
            openings,
            service_type=setup.service_type,
            by=setup.signer,
            channel=Channel.SYSTEM,
            next_contact_user=setup.delegate,
            at=setup.at,
        )
    except TicketError as exc:
        # The same for every debtor (the type, the signer): the whole run is refused, nothing kept.
        raise UpdateRefused(_("The engine refused a collection: %(error)s") % {"error": exc.message}) from exc


# ---- closing paid collections ------------------------------------------------------------------------


def _release_closed(setup: _Setup) -> int:
    """Release the receivables of collections closed some other way (by an agent, a supervisor)."""
    closed = Ticket.objects.filter(pk=OuterRef("ticket_id"), status=Ticket.Status.CLOSED)
    return open_items().filter(Exists(closed)).update(released_at=setup.at)


def paid_collections(service_type_id: int) -> QuerySet[Ticket]:
    """Open collection tickets with receivables, every one of them paid."""
    mine = open_items().filter(ticket_id=OuterRef("pk"))
    return (
        Ticket.objects.filter(service_type_id=service_type_id, status=Ticket.Status.OPEN)
        .filter(Exists(mine))
        .exclude(Exists(mine.filter(receivable__open_balance__gt=0)))
    )


def _with_a_paid_receivable(after: int) -> list[int]:
    """Up to CHUNK ids above `after`, in order, of the collections with a paid receivable still in them:
    where a paid collection can be, read from the paid receivables (few on most days), not from every
    open collection."""
    return list(
        open_items()
        .filter(receivable__open_balance__lte=0, ticket_id__gt=after)
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
        .distinct()[:CHUNK]
    )


def _close_paid(setup: _Setup) -> tuple[int, int]:
    """Close each paid collection through the engine (a supervisor's move to the workflow's closing
    phase, with the standard note as its reason, signed by the automatic note user); release its items."""
    closed = not_closed = 0
    reason = _("Every receivable of this collection is paid: closed by the collections update.")
    last = 0
    closing: dict[int, WorkflowStep | None] = {}
    while candidates := _with_a_paid_receivable(last):
        last = candidates[-1]
        for ticket in paid_collections(setup.service_type.pk).filter(pk__in=candidates).order_by("pk"):
            if ticket.workflow_id not in closing:
                closing[ticket.workflow_id] = (
                    WorkflowStep.objects.filter(
                        workflow_id=ticket.workflow_id, kind=WorkflowStep.Kind.CR, cr__closes_process=True
                    )
                    .order_by("order")
                    .first()
                )
            step = closing[ticket.workflow_id]
            if step is None or not setup.signer.has_perm(MOVE_ANY_STEP):
                not_closed += 1
                continue
            try:
                with transaction.atomic():
                    move_to_step(ticket, step, by=setup.signer, reason=reason, at=setup.at)
                    open_items().filter(ticket_id=ticket.pk).update(released_at=setup.at)
            except TicketError as exc:
                logger.warning("collection not closed ticket=%s: %s", ticket.pk, exc)
                not_closed += 1
                continue
            closed += 1
    return closed, not_closed


# ---- the debtor's e-mail ------------------------------------------------------------------------------


def _addresses(persons: list[int]) -> dict[int, str]:
    """The first e-mail address of each of `persons` who did not ask for no collection e-mails."""
    refused = set(
        CollectionPreference.objects.filter(person_id__in=persons, no_collection_emails=True).values_list(
            "person_id", flat=True
        )
    )
    found: dict[int, str] = {}
    for person_id, address in (
        Email.objects.filter(person_id__in=persons).order_by("id").values_list("person_id", "address")
    ):
        if person_id not in refused and address:
            found.setdefault(person_id, address)
    return found


def _email(setup: _Setup, ticket: Ticket, address: str, receivables: Sequence[Receivable]) -> None:
    """Queue the debtor's e-mail (a task sends it once the run commits; once per collection)."""
    from ciclo.mail.sending import send

    total = sum((r.open_balance for r in receivables), Decimal("0"))
    language = settings.LANGUAGE_CODE  # a debtor has no language of their own in Ciclo
    with translation.override(language):
        context = {
            "person": receivables[0].person,
            "company": receivables[0].company,
            "receivables": [
                {
                    "document": r.document,
                    "instalment": r.instalment,
                    "due_date": r.due_date,
                    "amount": money(r.amount),
                    "open_balance": money(r.open_balance),
                }
                for r in receivables
            ],
            "total": money(total),
            "ticket_id": ticket.pk,
        }
    send("collection_opened", [address], context, language, key=f"collection-opened:{ticket.pk}")
