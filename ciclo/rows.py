"""Plain SQL for the rows read and written on every action: the ticket engine's writes and
locks, and the API token's lookup (ciclo.accounts.tokens).

The engine's rules stay in Python (routing.py, answering.py, opening.py); what this
module replaces is only the ORM's work of turning a model instance into an INSERT or
an UPDATE, which it repeats on every call: compiling the statement, and for each row
and field, its pre-save and database preparation through the query compiler. On
SQLite, where a statement costs a few microseconds, that Python was most of an
action's time.

Here each statement's text is built once per model, database vendor and shape (which
fields; how many rows) and kept; each value still goes through its field's
`pre_save` and `get_db_prep_save`, exactly as `Model.save()` and `bulk_create()`
prepare it (time zones, decimals, JSON), and rows come back as model instances with
their primary keys set. No signal is sent: nothing in Ciclo listens to these models'
saves (a test holds that), and the history of tickets lives in their own rows
(notes, moves, revisions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.fields import AutoFieldMixin

M = TypeVar("M", bound=models.Model)


@cache
def _insert_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    """The fields an INSERT gives, as bulk_create does: every concrete field but the auto primary key."""
    return tuple(f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, AutoFieldMixin)))


@cache
def _insert_sql(model: type[models.Model], vendor: str, rows: int) -> str:
    connection = _connection()
    qn = connection.ops.quote_name
    meta = model._meta
    fields = _insert_fields(model)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES {', '.join([one] * rows)} RETURNING {qn(meta.pk.column)}"
    )


def _connection() -> Any:
    """The engine's connection itself: looked up once per statement, not through the proxy per value."""
    return connections[DEFAULT_DB_ALIAS]


def insert(objs: Sequence[M]) -> Sequence[M]:
    """INSERT new instances of one model in one statement; sets their primary keys. Returns objs."""
    if not objs:
        return objs
    model = type(objs[0])
    fields = _insert_fields(model)
    connection = _connection()
    params: list[Any] = []
    for obj in objs:
        for f in fields:
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, connection.vendor, len(objs)), params)
        keys = cursor.fetchall()
    pk = model._meta.pk.attname
    db = connection.alias
    for obj, (key,) in zip(objs, keys, strict=True):
        setattr(obj, pk, key)
        obj._state.adding = False
        obj._state.db = db
    return objs


@cache
def _update_sql(model: type[models.Model], vendor: str, names: tuple[str, ...]) -> str:
    connection = _connection()
    qn = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(f"{qn(_column(meta, n))} = %s" for n in names)
    return f"UPDATE {qn(meta.db_table)} SET {columns} WHERE {qn(meta.pk.column)} = %s"


def update(obj: models.Model, names: Iterable[str]) -> int:
    """UPDATE the named fields of one saved instance (as save(update_fields=…)); the rows changed."""
    names = tuple(dict.fromkeys(names))
    meta = obj._meta
    connection = _connection()
    params: list[Any] = []
    for name in names:
        f: Any = meta.get_field(name)
        params.append(f.get_db_prep_save(f.pre_save(obj, False), connection))
    params.append(obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(obj), connection.vendor, names), params)
        return int(cursor.rowcount)


@cache
def _select_sql(model: type[models.Model], vendor: str, names: tuple[str, ...], where: str, lock: bool) -> str:
    connection = _connection()
    qn = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(qn(_column(meta, n)) for n in names)
    sql = f"SELECT {columns} FROM {qn(meta.db_table)} WHERE {where}"
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql


@cache
def _in_model_order(model: type[models.Model], names: tuple[str, ...]) -> tuple[str, ...]:
    unknown = set(names) - {f.attname for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


def _column(meta: Any, name: str) -> str:
    return str(meta.get_field(name).column)


def attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def select(
    model: type[M],
    names: tuple[str, ...],
    where: str,
    params: Sequence[Any],
    *,
    lock: bool = False,
    extra: str = "",
) -> list[tuple[M, tuple[Any, ...]]]:
    """Instances of model (the fields `names`, by attname) of the rows matching `where`.

    `where` is plain SQL with %s placeholders, over the model's own columns. With `lock`,
    the rows are locked for the transaction (FOR UPDATE where the database has it; SQLite
    locks the whole database when the engine's transaction begins). `extra` is one more
    selected SQL expression (e.g. a subquery); each instance comes with it in a tuple.
    Values are converted as the ORM converts them (from_db_value, time zones).
    """
    names = _in_model_order(model, names)  # from_db() takes the values in the model's field order
    connection = _connection()
    sql = _select_sql(model, connection.vendor, names, where, lock)
    if extra:
        head, _sep, tail = sql.partition(" FROM ")
        sql = f"{head}, {extra} FROM {tail}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    steps = _converters(model, connection.vendor, names)
    db = connection.alias
    return [
        (model.from_db(db, names, convert(row[: len(names)], steps, connection)), tuple(row[len(names) :]))
        for row in fetched
    ]


Converters = tuple[tuple[int, Callable[[Any, Any], Any]], ...]


def converters(expressions: Sequence[Any], connection: Any) -> Converters:
    """Per selected expression (a column, an annotation), the database's and the field's value
    converters, as a query compiler applies them to what it reads. Worth keeping per statement."""
    out = []
    for i, expression in enumerate(expressions):
        steps = [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)]
        if steps:
            out.append((i, _chain(steps, expression)))
    return tuple(out)


def convert(row: Sequence[Any], steps: Converters, connection: Any) -> list[Any]:
    """A fetched row's values as the ORM would give them (from_db_value, time zones, decimals)."""
    values = list(row)
    for i, step in steps:
        values[i] = step(values[i], connection)
    return values


@cache
def _converters(model: type[models.Model], vendor: str, names: tuple[str, ...]) -> Converters:
    meta = model._meta
    return converters([meta.get_field(name).get_col(meta.db_table) for name in names], _connection())  # type: ignore[union-attr]


def _chain(steps: list[Any], expression: Any) -> Callable[[Any, Any], Any]:
    def apply(value: Any, connection: Any) -> Any:
        for step in steps:
            value = step(value, expression, connection)
        return value

    return apply
