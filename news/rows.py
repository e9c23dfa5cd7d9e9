"""Multi-row writes from model instances, for the importer and project linking.

`bulk_create` and `bulk_update` prepare every value of every row through its field and
compile the statement in Python: for a batch of 100 imported files that cost more than
PostgreSQL's own work on the rows (BENCHMARKS.md, Import). Here each column's values go
as one array (`INSERT … SELECT * FROM UNNEST(…)`, `UPDATE … FROM (VALUES …)`), only the
few field types that need it are prepared, and the statement is built once per call.
Elsewhere than on PostgreSQL (SQLite for `make run`) Django's own bulk methods run.
"""

from django.db import connection
from django.db.models import Model
from django.utils import timezone

# Field types whose Python values psycopg2 sends as they are (no get_db_prep_save).
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateTimeField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}


def insert_instances(objs: list[Model], *, ignore_conflicts: bool = False) -> None:
    """INSERT unsaved instances of one model in one statement. Instances without a pk get
    the database's (not with `ignore_conflicts`, as with bulk_create); auto_now fields
    are set as save() would."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return
    meta = model._meta
    with_pk = objs[0].pk is not None
    fields = [f for f in meta.local_concrete_fields if with_pk or f is not meta.pk]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    columns = []
    for field in fields:
        values = [getattr(obj, field.attname) for obj in objs]
        if field.get_internal_type() not in _AS_IS:
            values = [field.get_db_prep_save(v, connection) for v in values]
        columns.append(values)
    casts = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    names = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'INSERT INTO "{meta.db_table}" ({names}) SELECT * FROM UNNEST({casts})'
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    elif not with_pk:
        sql += f' RETURNING "{meta.pk.column}"'
    with connection.cursor() as cursor:
        cursor.execute(sql, columns)
        if not ignore_conflicts and not with_pk:
            # INSERT … SELECT FROM UNNEST returns rows in input order (bulk_create relies
            # on the same).
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def update_rows(model, rows, fields) -> None:
    """UPDATE … FROM (VALUES …): Django's bulk_update builds a CASE per field and row in
    Python, which cost more than the rest of linking together (measured)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, fields)
        return
    from psycopg2.extras import execute_values

    meta = model._meta
    columns = [meta.get_field(f).column for f in fields]
    types = [meta.get_field(f).db_type(connection) for f in fields]
    assignments = ", ".join(f'"{c}" = v."{c}"::{t}' for c, t in zip(columns, types, strict=True))
    names = ", ".join(f'"{c}"' for c in columns)
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {assignments} '
        f'FROM (VALUES %s) AS v(id, {names}) WHERE t."{meta.pk.column}" = v.id'
    )
    values = [(r.pk, *(getattr(r, meta.get_field(f).attname) for f in fields)) for r in rows]
    with connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, values, page_size=1000)
