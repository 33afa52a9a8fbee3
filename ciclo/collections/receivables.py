"""Receivables as the ERP sends them: one upsert for every interface, and payments as detail.

`upsert_receivables` is the one home of loading receivables: `PUT /api/v1/receivables`, the web
upload (ciclo.receivables_import), `ciclo receivables import FILE` and the demo all call it.

- A row is identified by its company (code), document and instalment; a row the database
  already holds is changed to what the row says, or left alone when it says the same
  (idempotent: sending the same rows twice changes nothing and writes no history).
- The ERP's `open_balance` is the truth: 0 is paid, more than 0 is open again.
- Each row is applied whole or not at all, never half; a refused row says which field broke
  which rule. Without `all_or_nothing` the valid rows are applied and the refused ones
  reported; with it, nothing is applied when any row is refused.
- Every receivable created or changed leaves a history row (ciclo.history.Change) with who.
- Rows are written in chunks, each in one transaction with the rows it changes locked, so a
  concurrent import or payment never overwrites a change silently; a row another import
  creates at the same moment is read again and changed instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, WithJsonSchema
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from ciclo.accounts.models import UserCompany
from ciclo.collections.models import AdministrativeStatus, CollectionKind, Payment, Receivable
from ciclo.configurator.models import AnswerType
from ciclo.fields import BodyId, Day, bounded
from ciclo.history.models import Change, snapshot
from ciclo.people.models import Company, Person
from ciclo.tickets.access import company_restricted
from ciclo.tickets.errors import InvalidInput
from ciclo.tickets.values import NumberRefused, number_examples, number_message, parse_decimal

logger = logging.getLogger("ciclo.collections")

MAX_ROWS = 10_000  # rows one API request may carry
MONEY_LIMIT = Decimal("1000000000000")  # 12 integer digits: what a Decimal(14, 2) column holds
CHUNK = 1000  # rows written per transaction
BATCH = 1000  # rows per INSERT (bulk_create: SQLite's limit of bound values makes its statements smaller)
SAMPLES = 200  # created or changed rows a report describes one by one (the web's preview)
FIELDS = (
    "company",
    "document",
    "instalment",
    "person",
    "issue_date",
    "due_date",
    "amount",
    "open_balance",
    "kind",
    "administrative_status",
)
# What a row sets on a receivable, compared with what it holds.
_COMPARED = ("person_id", "issue_date", "due_date", "amount", "open_balance", "kind_id", "administrative_status_id")
_SHOWN = {
    "person_id": "person",
    "kind_id": "kind",
    "administrative_status_id": "administrative_status",
}


# ---- values ---------------------------------------------------------------------------------


def clean_money(raw: Any, *, positive: bool = False) -> Decimal:
    """An amount in reais as Ciclo reads numbers everywhere (tickets.values.parse_decimal): not negative
    (`positive`: more than 0), at most two decimals and 12 digits before them. Raises ValueError with
    the message for people."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError(_("Give an amount."))
    try:
        value = parse_decimal(raw)
    except NumberRefused as refused:
        raise ValueError(number_message(refused, AnswerType.MONEY)) from None
    if value < 0:
        raise ValueError(_("The amount cannot be negative."))
    if positive and value == 0:
        raise ValueError(_("The amount must be more than zero."))
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError(
            _("An amount of money has at most two decimals: type %(plain)s or %(grouped)s.")
            % number_examples(AnswerType.MONEY)
        )
    if value >= MONEY_LIMIT:
        raise ValueError(_("The amount is too large: at most 12 digits before the decimals."))
    return value.quantize(Decimal("0.01"))


def _money(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise PydanticCustomError("money", _('Give an amount as a number or as text, such as "1234.56".'))
    try:
        return clean_money(raw)
    except ValueError as exc:
        raise PydanticCustomError("money", str(exc)) from None


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _text(max_length: int, min_length: int = 0) -> Any:
    """Text without spaces around it (a file's cells often have them), then bounded as every API text is."""
    return Annotated[bounded(max_length, min_length), BeforeValidator(_strip)]


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
            "description": "An amount in reais, not negative, at most two decimals: a number, or text such as "
            '"1234.56" (read as every Ciclo number is: "1.234,56" too).',
        }
    ),
]


class ReceivableRow(BaseModel):
    """One receivable as the ERP sends it: the item of `PUT /api/v1/receivables` and a row of an import file."""

    model_config = ConfigDict(extra="forbid")

    company: _text(20, 1) = Field(description="The company's code.")  # type: ignore[valid-type]
    document: _text(40, 1) = Field(description="The document number (unique per company with the instalment).")  # type: ignore[valid-type]
    instalment: _text(10) = Field(description="The instalment (empty when the document has one).")  # type: ignore[valid-type]
    person: BodyId = Field(description="The debtor: a person's id.")
    issue_date: Day
    due_date: Day = Field(description="Not before the issue date.")
    amount: Money
    open_balance: Money = Field(description="What is still owed, as the ERP knows it: 0 is paid.")
    kind: _text(40, 1) = Field(description='The collection kind\'s code: "normal", "descontado", …')  # type: ignore[valid-type]
    administrative_status: _text(40, 1) | None = Field(  # type: ignore[valid-type]
        default=None, description="An analytical administrative status's code; null: none."
    )

    _row: int | None = PrivateAttr(default=None)

    @property
    def number(self) -> int:
        """The row's number: its line in a file, or its index in an API request's list."""
        return self._row if self._row is not None else 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.company, self.document, self.instalment)


class Refusal(NamedTuple):
    """Why a row was refused: its number (a file's line, or the API's index in the list), the field and the rule."""

    row: int
    field: str
    message: str


@dataclass
class RowChange:
    """A row that creates or changes a receivable, as a preview shows it."""

    row: int
    company: str
    document: str
    instalment: str
    status: str  # "created" or "changed"
    changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass
class ImportReport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    applied: bool = False  # whether the valid rows were written (False: a dry run, or all-or-nothing refused)
    dry_run: bool = False
    samples: list[RowChange] = field(default_factory=list)

    @property
    def refused_rows(self) -> int:
        return len({r.row for r in self.refused})

    @property
    def total(self) -> int:
        return self.created + self.changed + self.unchanged + self.refused_rows

    def fields(self) -> dict[str, list[str]]:
        """The refusals as the API's `fields`: "3.due_date" for row 3's due date."""
        out: dict[str, list[str]] = {}
        for r in self.refused:
            out.setdefault(f"{r.row}.{r.field}", []).append(r.message)
        return out


_PYDANTIC_MESSAGES = {
    "missing": lambda e: _("This field is required."),
    "extra_forbidden": lambda e: _("There is no such field."),
    "string_too_short": lambda e: _("This field is required."),
    "string_too_long": lambda e: _("Use at most %(max)s characters.") % {"max": e.get("ctx", {}).get("max_length")},
}


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type"))
    known = _PYDANTIC_MESSAGES.get(kind)
    if known:
        return known(error)
    if kind.startswith("date"):
        return _("Give a date as YYYY-MM-DD, such as 2026-12-31.")
    if kind.startswith("int") or error.get("loc", ("",))[0] == "person":
        return _("Give the person's id (a number).")
    message = str(error.get("msg", ""))
    return message.removeprefix("Value error, ")


def read_row(data: Any, row: int) -> ReceivableRow | list[Refusal]:
    """One row (a JSON object, or a file's row as ciclo.collections.files reads it) as a ReceivableRow numbered
    `row`, or the refusals of each field whose value has the wrong shape."""
    if not isinstance(data, Mapping):
        return [Refusal(row, "__all__", _("A row is an object with the receivable's fields."))]
    try:
        item = ReceivableRow.model_validate(data)
    except PydanticValidationError as exc:
        refusals = []
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ()) if isinstance(p, str)]
            name = loc[0] if loc and (loc[0] in FIELDS or error.get("type") == "extra_forbidden") else "__all__"
            refusals.append(Refusal(row, name, _message(error)))
        return refusals
    item._row = row
    return item


def read_rows(items: Iterable[tuple[int, Any]]) -> tuple[list[ReceivableRow], list[Refusal]]:
    rows: list[ReceivableRow] = []
    refused: list[Refusal] = []
    for number, data in items:
        read = read_row(data, number)
        if isinstance(read, list):
            refused.extend(read)
        else:
            rows.append(read)
    return rows, refused


# ---- the upsert -----------------------------------------------------------------------------


@dataclass
class _Refs:
    companies: dict[str, int]
    people: set[int]
    kinds: dict[str, CollectionKind]
    statuses: dict[str, AdministrativeStatus]
    allowed_companies: set[int] | None  # None: every company


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _references(rows: Sequence[ReceivableRow], by: Any) -> _Refs:
    codes = {r.company for r in rows}
    companies = dict(Company.objects.filter(code__in=codes).values_list("code", "id")) if codes else {}
    people: set[int] = set()
    ids = sorted({r.person for r in rows})
    for chunk in _chunks(ids, 5000):
        people.update(Person.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    allowed = None
    if by is not None and company_restricted(by):
        allowed = set(UserCompany.objects.filter(user_id=by.pk).values_list("company_id", flat=True))
    return _Refs(
        companies=companies,
        people=people,
        kinds={k.code.lower(): k for k in CollectionKind.objects.all()},
        statuses={s.code: s for s in AdministrativeStatus.objects.all()},
        allowed_companies=allowed,
    )


def _check(row: ReceivableRow, refs: _Refs) -> list[Refusal]:
    """The rules a row must keep whatever the database holds."""
    n = row.number
    out: list[Refusal] = []
    company_id = refs.companies.get(row.company)
    if company_id is None:
        out.append(Refusal(n, "company", _("There is no company with the code “%(code)s”.") % {"code": row.company}))
    elif refs.allowed_companies is not None and company_id not in refs.allowed_companies:
        out.append(Refusal(n, "company", _("You have no access to company %(code)s.") % {"code": row.company}))
    if row.person not in refs.people:
        out.append(Refusal(n, "person", _("There is no person %(id)s.") % {"id": row.person}))
    if row.due_date < row.issue_date:
        out.append(Refusal(n, "due_date", _("The due date cannot be before the issue date.")))
    if row.kind.lower() not in refs.kinds:
        out.append(Refusal(n, "kind", _("There is no collection kind “%(code)s”.") % {"code": row.kind}))
    code = row.administrative_status
    if code is not None:
        status = refs.statuses.get(code)
        if status is None:
            out.append(
                Refusal(n, "administrative_status", _("There is no administrative status “%(code)s”.") % {"code": code})
            )
        elif status.kind != AdministrativeStatus.Kind.ANALYTICAL:
            out.append(
                Refusal(
                    n,
                    "administrative_status",
                    _("“%(code)s” is a group of statuses (synthetic): give one of the analytical statuses under it.")
                    % {"code": code},
                )
            )
    return out


def _duplicates(rows: Sequence[ReceivableRow]) -> list[Refusal]:
    """Rows naming the same receivable: none of them is taken, since which one is right cannot be told."""
    seen: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        seen.setdefault(row.key, []).append(row.number)
    out = []
    for numbers in seen.values():
        if len(numbers) > 1:
            listed = ", ".join(str(n) for n in numbers)
            for n in numbers:
                out.append(
                    Refusal(
                        n,
                        "document",
                        _("Rows %(rows)s are the same receivable (company, document and instalment).")
                        % {"rows": listed},
                    )
                )
    return out


def _values(row: ReceivableRow, refs: _Refs) -> dict[str, Any]:
    status = refs.statuses.get(row.administrative_status) if row.administrative_status else None
    return {
        "person_id": row.person,
        "issue_date": row.issue_date,
        "due_date": row.due_date,
        "amount": row.amount,
        "open_balance": row.open_balance,
        "kind_id": refs.kinds[row.kind.lower()].pk,
        "administrative_status_id": status.pk if status else None,
    }


# A receivable is read and written here as a dict of its columns (attnames): thousands of rows a request,
# where building a model object for each costs more than the database's work.
_COLUMNS = [f.attname for f in Receivable._meta.concrete_fields]
_Key = tuple[int, str, str]


def _existing(rows: Sequence[ReceivableRow], refs: _Refs, *, lock: bool) -> dict[_Key, dict[str, Any]]:
    by_company: dict[int, set[str]] = {}
    for row in rows:
        by_company.setdefault(refs.companies[row.company], set()).add(row.document)
    if not by_company:
        return {}
    condition = Q()
    for company_id, documents in by_company.items():
        condition |= Q(company_id=company_id, document__in=documents)
    qs = Receivable.objects.filter(condition).order_by()
    if lock:
        qs = qs.select_for_update()
    return {(r["company_id"], r["document"], r["instalment"]): r for r in qs.values(*_COLUMNS)}


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """What ciclo.history.snapshot() gives of a receivable, from its columns."""
    out = {}
    for f in Receivable._meta.concrete_fields:
        value = values.get(f.attname)
        out[f.name] = value if isinstance(value, (bool, int, type(None))) else str(value)
    return out


def _in_use_refusals(row: ReceivableRow, refs: _Refs, saved: dict[str, Any] | None) -> list[Refusal]:
    """An inactive kind or status is refused, unless the receivable already has it (the ERP sends it again)."""
    out = []
    kind = refs.kinds[row.kind.lower()]
    if not kind.active and (saved is None or saved["kind_id"] != kind.pk):
        out.append(
            Refusal(row.number, "kind", _("The collection kind “%(code)s” is no longer in use.") % {"code": row.kind})
        )
    status = refs.statuses.get(row.administrative_status) if row.administrative_status else None
    if status is not None and not status.active and (saved is None or saved["administrative_status_id"] != status.pk):
        out.append(
            Refusal(
                row.number,
                "administrative_status",
                _("The administrative status “%(code)s” is no longer in use.") % {"code": status.code},
            )
        )
    return out


def _shown(name: str, value: Any, refs: _Refs) -> str | None:
    if value is None:
        return None
    if name == "kind_id":
        return next((k.code for k in refs.kinds.values() if k.pk == value), str(value))
    if name == "administrative_status_id":
        return next((s.code for s in refs.statuses.values() if s.pk == value), str(value))
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass
class _Pass:
    """What one chunk does (or would do): rows with the receivable's columns (before and after a change)."""

    create: list[tuple[ReceivableRow, dict[str, Any]]] = field(default_factory=list)
    change: list[tuple[ReceivableRow, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)


def _plan(chunk: Sequence[ReceivableRow], refs: _Refs, *, lock: bool) -> _Pass:
    found = _existing(chunk, refs, lock=lock)
    out = _Pass()
    now = timezone.now()
    for row in chunk:
        key = (refs.companies[row.company], row.document, row.instalment)
        saved = found.get(key)
        refused = _in_use_refusals(row, refs, saved)
        if refused:
            out.refused.extend(refused)
            continue
        values = _values(row, refs)
        if saved is None:
            created = {
                "id": None,
                "company_id": key[0],
                "document": row.document,
                "instalment": row.instalment,
                **values,
                "updated_at": now,
                "version": 1,
            }
            out.create.append((row, created))
            continue
        if all(saved[name] == value for name, value in values.items()):
            out.unchanged += 1
            continue
        out.change.append((row, saved, {**saved, **values, "version": saved["version"] + 1, "updated_at": now}))
    return out


def _history(planned: _Pass) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The history rows of a chunk: (object id, object, action, changes), as ciclo.history.Change keeps them."""
    rows = []
    for _row, new in planned.create:
        after = _snapshot(new)
        rows.append((str(new["id"]), _repr(new), Change.Action.CREATED.value, {k: [None, v] for k, v in after.items()}))
    for _row, old, new in planned.change:
        before, after = _snapshot(old), _snapshot(new)
        diff = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        rows.append((str(new["id"]), _repr(new), Change.Action.CHANGED.value, diff))
    return rows


def _write_history(rows: list[tuple[str, str, str, dict[str, Any]]], by: Any) -> None:
    """The chunk's history rows: the same rows record_change writes."""
    if not rows:
        return
    content_type = ContentType.objects.get_for_model(Receivable).pk
    user = by.pk if getattr(by, "is_authenticated", False) else None
    at = timezone.now()
    Change.objects.bulk_create(
        [
            Change(
                content_type_id=content_type,
                object_id=object_id,
                object_repr=text[:300],
                action=action,
                changes=changes,
                by_id=user,
                at=at,
            )
            for object_id, text, action, changes in rows
        ],
        batch_size=BATCH,
    )


def _repr(values: dict[str, Any]) -> str:
    """As str(receivable)."""
    return f"{values['document']}/{values['instalment']}"[:300]


def _update(rows: list[dict[str, Any]]) -> None:
    """Save the changed receivables by one statement run for each (executemany): bulk_update's CASE over
    a thousand rows costs Django more to build than the database to run."""
    names = [*_COMPARED, "version", "updated_at"]
    fields = [Receivable._meta.get_field(name) for name in names]
    connection = connections[router.db_for_write(Receivable)]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr, arg-type]
    sql = f"UPDATE {quote(Receivable._meta.db_table)} SET {sets} WHERE {quote('id')} = %s"
    params = [
        [f.get_db_prep_save(values[f.attname], connection) for f in fields] + [values["id"]]  # type: ignore[union-attr]
        for values in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _insert(rows: list[dict[str, Any]]) -> None:
    """Insert the new receivables; their ids come back with the INSERT (RETURNING, on both databases).

    Not an upsert (update_conflicts): a row is created here only when the chunk, read under its
    transaction, does not hold it. One another import creates meanwhile breaks the unique constraint,
    and _write reads the chunk again so that row is changed, with its own history row, instead.
    """
    created = Receivable.objects.bulk_create(
        [Receivable(**{name: value for name, value in values.items() if name != "id"}) for values in rows],
        batch_size=BATCH,
    )
    for values, receivable in zip(rows, created, strict=True):
        values["id"] = receivable.pk


def _write(chunk: Sequence[ReceivableRow], refs: _Refs, by: Any) -> _Pass:
    """Apply one chunk in one transaction, the receivables it changes locked. A receivable another import
    created meanwhile breaks the unique constraint: the chunk is read again and that row changed instead;
    one deleted meanwhile (between the read and the lock) is created again."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                planned = _plan(chunk, refs, lock=False)
                if planned.change:
                    # Only the rows that change are locked (an idempotent rerun writes nothing, not even
                    # locks), and read again under the lock: a change made meanwhile is not overwritten blind.
                    again = _plan([row for row, _old, _new in planned.change], refs, lock=True)
                    planned.change = again.change
                    planned.unchanged += again.unchanged
                    planned.create += again.create
                    planned.refused += again.refused
                if planned.create:
                    _insert([new for _r, new in planned.create])
                if planned.change:
                    _update([new for _r, _old, new in planned.change])
                _write_history(_history(planned), by)
                return planned
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _sample(report: ImportReport, planned: _Pass, refs: _Refs) -> None:
    for row, _obj in planned.create:
        if len(report.samples) >= SAMPLES:
            return
        report.samples.append(RowChange(row.number, row.company, row.document, row.instalment, "created"))
    for row, old, new in planned.change:
        if len(report.samples) >= SAMPLES:
            return
        changes = {
            _SHOWN.get(name, name): (_shown(name, old[name], refs), _shown(name, new[name], refs))
            for name in _COMPARED
            if old[name] != new[name]
        }
        report.samples.append(RowChange(row.number, row.company, row.document, row.instalment, "changed", changes))


def upsert_receivables(
    rows: Sequence[ReceivableRow],
    *,
    by: Any,
    source: str,
    all_or_nothing: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    refused: Sequence[Refusal] = (),
) -> ImportReport:
    """Create or change the receivables `rows` describe (see the module's docstring).

    `refused`: rows already refused while they were read (a value of the wrong shape, from read_rows),
    which count for `all_or_nothing`. `source` says where the rows came from ("api", "import"): the log line
    of each load names it, with who loaded and what it did. `progress(done, total)` is told after each
    chunk. Rows are numbered by their `_row` (read_row), else by their place in `rows` from 1.
    """
    for index, row in enumerate(rows, start=1):
        if row._row is None:
            row._row = index
    report = ImportReport(refused=list(refused), dry_run=dry_run)
    total = len(rows) + len({r.row for r in refused})
    done = len({r.row for r in refused})
    refs = _references(rows, by)
    bad = {r.row for r in report.refused}
    for row in rows:
        report.refused.extend(_check(row, refs))
    report.refused.extend(_duplicates(rows))
    bad = {r.row for r in report.refused}
    good = [r for r in rows if r.number not in bad]
    done += len(rows) - len(good)
    write = not dry_run and not (all_or_nothing and report.refused)
    if all_or_nothing and not dry_run and not report.refused:
        # Every row is checked before anything is written: a row refused by what the database holds stops them all.
        for chunk in _chunks(good, CHUNK):
            if _plan(chunk, refs, lock=False).refused:
                write = False
                break

    def apply(chunk: Sequence[ReceivableRow]) -> None:
        nonlocal done
        planned = _write(chunk, refs, by) if write else _plan(chunk, refs, lock=False)
        report.created += len(planned.create)
        report.changed += len(planned.change)
        report.unchanged += planned.unchanged
        report.refused.extend(planned.refused)
        _sample(report, planned, refs)
        done += len(chunk)
        if progress is not None:
            progress(done, total)

    if write and all_or_nothing:
        with transaction.atomic():
            for chunk in _chunks(good, CHUNK):
                apply(chunk)
    else:
        for chunk in _chunks(good, CHUNK):
            apply(chunk)
    report.refused.sort(key=lambda r: (r.row, FIELDS.index(r.field) if r.field in FIELDS else len(FIELDS)))
    report.applied = write
    logger.info(
        "receivables loaded source=%s by=%s applied=%s created=%s changed=%s unchanged=%s refused=%s",
        source,
        getattr(by, "pk", None),
        write,
        report.created,
        report.changed,
        report.unchanged,
        report.refused_rows,
    )
    if progress is not None and not good:
        progress(done, total)
    return report


# ---- payments -------------------------------------------------------------------------------


def add_payment(
    receivable: Receivable,
    *,
    paid_on: Any,
    amount: Any,
    by: Any,
    source: str = Payment.Source.API,
    at: dt.date | None = None,
) -> Payment:
    """Record a payment (partial or total) of a receivable: its open balance goes down by the amount.

    Refused (InvalidInput naming the field): an amount that is not more than zero, has more than two
    decimals, or is more than the open balance; a day in the future. The receivable's row is locked,
    so two payments at once never pay the same balance twice. History rows for the payment and the
    receivable.
    """
    errors: dict[str, list[str]] = {}
    today = at or timezone.localdate()
    try:
        value = clean_money(amount, positive=True)
    except ValueError as exc:
        errors["amount"] = [str(exc)]
        value = Decimal(0)
    if not isinstance(paid_on, dt.date) or isinstance(paid_on, dt.datetime):
        errors["paid_on"] = [_("Give the day of the payment as YYYY-MM-DD.")]
    elif paid_on > today:
        errors["paid_on"] = [_("A payment cannot be on a day still to come.")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        locked = Receivable.objects.select_for_update().get(pk=receivable.pk)
        if value > locked.open_balance:
            raise InvalidInput(
                {
                    "amount": [
                        _("The payment is more than the open balance (%(balance)s).")
                        % {"balance": f"{locked.open_balance:.2f}"}
                    ]
                }
            )
        before = snapshot(locked)
        payment = Payment.objects.create(receivable=locked, paid_on=paid_on, amount=value, source=source)
        locked.open_balance -= value
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["open_balance", "version", "updated_at"])
        content_type = ContentType.objects.get_for_model(Receivable)
        user = by if getattr(by, "is_authenticated", False) else None
        after = snapshot(locked)
        Change.objects.bulk_create(
            [
                Change(
                    content_type=ContentType.objects.get_for_model(Payment),
                    object_id=str(payment.pk),
                    object_repr=str(payment)[:300],
                    action=Change.Action.CREATED,
                    changes={k: [None, v] for k, v in snapshot(payment).items()},
                    by=user,
                ),
                Change(
                    content_type=content_type,
                    object_id=str(locked.pk),
                    object_repr=str(locked)[:300],
                    action=Change.Action.CHANGED,
                    changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v},
                    by=user,
                ),
            ]
        )
    receivable.open_balance = locked.open_balance
    receivable.version = locked.version
    receivable.updated_at = locked.updated_at
    return payment


__all__ = [
    "FIELDS",
    "MAX_ROWS",
    "ImportReport",
    "ReceivableRow",
    "Refusal",
    "RowChange",
    "add_payment",
    "clean_money",
    "read_row",
    "read_rows",
    "upsert_receivables",
]
