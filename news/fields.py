"""A bigint array that also runs on SQLite (`make run`), where it is stored as JSON text.

PostgreSQL gets a real bigint[] (GIN-indexable, `__overlap` is `&&`); SQLite has no array
type, so there the value round-trips through JSON and lookups run in Python.
"""

import json

from django.contrib.postgres.fields import ArrayField
from django.db import models


class BigIntArrayField(ArrayField):
    def __init__(self, base_field=None, **kwargs):
        super().__init__(base_field or models.BigIntegerField(), **kwargs)

    def db_type(self, connection):
        return super().db_type(connection) if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor == "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        return self._as_json(value)

    def get_db_prep_save(self, value, connection):
        if connection.vendor == "postgresql":
            return super().get_db_prep_save(value, connection)
        return self._as_json(value)

    def get_placeholder_sql(self, value, compiler, connection):
        if connection.vendor == "postgresql":
            return super().get_placeholder_sql(value, compiler, connection)
        if hasattr(value, "as_sql"):
            return compiler.compile(value)
        return "%s", (value,)

    @staticmethod
    def _as_json(value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps([int(v) for v in value])

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str):
            return json.loads(value)
        return value
