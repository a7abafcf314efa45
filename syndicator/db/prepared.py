"""Short write transactions run straight on a pooled DBAPI connection.

The delivery engine's claim and record are one statement each (on PostgreSQL) and run for
every delivery. Through :class:`sqlalchemy.engine.Connection` each costs about a quarter of a
millisecond of CPU more than the statement itself (execution options, the execution context,
result metadata), about as much as the driver's own work. Here SQLAlchemy still builds and
compiles the statement (once), and its types still convert what goes in and what comes out
(``bind_processor`` / ``result_processor``, exactly as a ``Connection`` would); only the
per-execution machinery is left out.

A transaction is :func:`run_transaction`: on PostgreSQL a lone statement runs in autocommit
(one round trip, committed as it returns); otherwise the statements run between ``BEGIN``
(``BEGIN IMMEDIATE`` on SQLite: the write lock at once) and ``COMMIT``. Driver errors come out
as :class:`sqlalchemy.exc.DBAPIError`, with ``connection_invalidated`` set (and the connection
dropped from the pool) when the server went away, as a ``Connection`` would raise them.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from sqlalchemy import ClauseElement, Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Prepared", "run_transaction"]

Processor = Callable[[Any], Any]


class Prepared:
    """A Core statement compiled once for *dialect*.

    Args:
        statement: an ``update``, ``insert`` or ``select`` (rows are read from a ``select``,
            which may read a CTE that writes: ``UPDATE … RETURNING`` is written that way);
            no expanding (``IN``) parameters.
        dialect: the engine's dialect.
    """

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"not a SQL statement: {statement!r}")
        if any(bind.expanding or bind.literal_execute for bind in compiled.binds.values()):
            raise TypeError(
                "a statement with IN (…) or literal-execute parameters is rendered anew for "
                f"each execution and cannot be prepared once: {compiled.string}"
            )
        self.sql = compiled.string
        self._compiled = compiled
        self._positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._binds: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._binds[name] = processor
        self._dialect = dialect
        self._columns: list[tuple[str, Any]] = []
        if isinstance(statement, Select):
            self._columns = [(str(c.key), c.type) for c in statement.selected_columns]
        self._results: list[Processor | None] | None = None

    @property
    def returns_rows(self) -> bool:
        return bool(self._columns)

    def parameters(self, values: dict[str, Any]) -> MutableMapping[str, Any] | tuple[Any, ...]:
        """The driver's parameters for *values* (bound values the statement holds included)."""
        params = self._compiled.construct_params(values)
        for name, processor in self._binds.items():
            params[name] = processor(params[name])
        if self._positions is not None:
            return tuple(params[name] for name in self._positions)
        return params

    def row(self, cursor: Any) -> dict[str, Any] | None:
        """The first row of *cursor*, by column key, converted as the column types say."""
        raw = cursor.fetchone()
        if raw is None:
            return None
        if self._results is None:
            self._results = [
                kind.dialect_impl(self._dialect).result_processor(self._dialect, described[1])
                for (_key, kind), described in zip(self._columns, cursor.description, strict=True)
            ]
        return {
            key: value if processor is None else processor(value)
            for (key, _kind), processor, value in zip(
                self._columns, self._results, raw, strict=True
            )
        }


def run_transaction(
    engine: Engine, statements: Sequence[Prepared], values: dict[str, Any]
) -> tuple[bool, dict[str, Any] | None]:
    """Run *statements* in one transaction on a pooled connection.

    Every statement before the last must change exactly one row, else the transaction is
    rolled back and the answer is ``(False, None)``; otherwise it is committed and the answer
    is ``(True, row)``, *row* the last statement's first row (``None`` if it returns none).
    """
    dialect = engine.dialect
    autocommit = len(statements) == 1 and dialect.name == "postgresql"
    fairy = engine.raw_connection()
    connection = fairy.dbapi_connection
    assert connection is not None  # a connection just checked out of the pool
    cursor: Any = None
    try:
        cursor = fairy.cursor()
        current = statements[0]
        try:
            if autocommit:
                dialect.set_isolation_level(connection, "AUTOCOMMIT")
            elif dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            *guards, last = statements
            for current in guards:
                cursor.execute(current.sql, current.parameters(values))
                if cursor.rowcount != 1:
                    fairy.rollback()
                    return False, None
            current = last
            cursor.execute(last.sql, last.parameters(values))
            row = last.row(cursor) if last.returns_rows else None
            if not autocommit:
                fairy.commit()
            return True, row
        except dialect.loaded_dbapi.Error as exc:
            gone = dialect.is_disconnect(exc, connection, cursor)
            if gone:
                fairy.invalidate(exc)
            raise DBAPIError.instance(
                current.sql,
                None,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=gone,
                dialect=dialect,
            ) from exc
        finally:
            if autocommit and fairy.is_valid:
                dialect.reset_isolation_level(connection)
    finally:
        if cursor is not None and fairy.is_valid:
            cursor.close()
        fairy.close()
