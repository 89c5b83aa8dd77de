"""Lock, read and update one row of a model with SQL built once, not per call.

The dispatcher applies every Ganeti event as "lock the VM row, decide, update it": a
``select_for_update().get(pk=…)`` and a ``save(update_fields=…)``. Through the ORM each
builds its SQL anew (query objects, the compiler, quoting every column), which cost the
dispatcher more than PostgreSQL spent on the transaction (docs/performance.md). Here the
two statements are written once per database connection alias (and per set of updated
fields) and then only executed. What the ORM does around them is kept:

* the row comes back as a model instance (``Model.from_db``), its values passed through
  the backend's and the fields' converters (SQLite's datetimes and booleans, …);
* updated values go through ``pre_save`` (``auto_now`` stamps ``updated``) and
  ``get_db_prep_save``, as ``save()`` sends them.

No model signals are sent (the models using this have no receivers). Use inside
``transaction.atomic()``: the lock lasts until the transaction ends (SQLite, without
row locks, serialises whole write transactions instead; see synnefo.webproject.sqlite3).
"""

from django.db import connections


class RowStatements:
    """The locked read and the updates of one model's rows by primary key."""

    def __init__(self, model):
        self.model = model
        self.fields = model._meta.concrete_fields
        self._select = {}  # alias -> (SQL, [(column index, expression, converters)])
        self._updates = {}  # (alias, field names) -> (SQL, fields)

    def lock(self, pk, using="default"):
        """The row with primary key ``pk`` as a model instance, locked (FOR UPDATE) until
        the transaction ends; None when there is none."""
        connection = connections[using]
        if using not in self._select:
            self._select[using] = self._build_select(connection)
        sql, converters = self._select[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for i, column, column_converters in converters:
            for convert in column_converters:
                values[i] = convert(values[i], column, connection)
        return self.model.from_db(using, [f.attname for f in self.fields], values)

    def update(self, instance, field_names):
        """UPDATE the row of ``instance`` with its values of ``field_names`` (field
        names, as ``save(update_fields=…)`` takes them)."""
        using = instance._state.db or "default"
        connection = connections[using]
        key = (using, tuple(field_names))
        if key not in self._updates:
            self._updates[key] = self._build_update(connection, field_names)
        sql, fields = self._updates[key]
        params = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in fields]
        params.append(instance.pk)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def _build_select(self, connection):
        quote = connection.ops.quote_name
        meta = self.model._meta
        sql = "SELECT %s FROM %s WHERE %s = %%s" % (
            ", ".join(quote(f.column) for f in self.fields), quote(meta.db_table),
            quote(meta.pk.column))
        if connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        converters = []
        for i, field in enumerate(self.fields):
            column = field.get_col(meta.db_table)
            found = (connection.ops.get_db_converters(column)
                     + column.get_db_converters(connection))
            if found:  # called as the ORM calls them: (value, expression, connection)
                converters.append((i, column, found))
        return sql, converters

    def _build_update(self, connection, field_names):
        quote = connection.ops.quote_name
        meta = self.model._meta
        fields = [meta.get_field(name) for name in field_names]
        sql = "UPDATE %s SET %s WHERE %s = %%s" % (
            quote(meta.db_table), ", ".join("%s = %%s" % quote(f.column) for f in fields),
            quote(meta.pk.column))
        return sql, fields
