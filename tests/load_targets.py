"""A fresh table in DuckDB, SQLite or a real PostgreSQL, and ways to read it back with each engine's own driver.

The PostgreSQL tests need a server: set ARTICLES_TEST_POSTGRES=postgresql://...
(.ci/run starts one). Without it they skip, except in CI, where they must run.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import RunCli

LEDGER = "_articles_files"


class Target:
    """A table in one engine, and a way to query it with that engine's own driver."""

    def __init__(self, backend: str, location: str, table: str, made: list[str] | None = None) -> None:
        self.backend, self.location, self.table = backend, location, table
        self.made = made if made is not None else []  # every table of the test's, for the clean-up
        self.made.append(table)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        sql = sql.replace("THE_TABLE", f'"{self.table}"').replace("THE_LEDGER", f'"{LEDGER}"')
        if self.backend == "duckdb":
            with duckdb.connect(self.location) as connection:
                connection.execute("SET TimeZone = 'UTC'")
                return connection.execute(sql).fetchall()
        if self.backend == "sqlite":
            with sqlite3.connect(self.location.removeprefix("sqlite:///")) as connection:
                return connection.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.location) as connection:
            connection.execute("SET TimeZone = 'UTC'")
            cursor = connection.execute(sql.encode())
            return cursor.fetchall() if cursor.description is not None else []

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM THE_TABLE")[0][0])

    def ledger(self) -> list[tuple[Any, ...]]:
        """The ledger's entries for the table: (webUrl, file), in webUrl order."""
        return self.query(f"""SELECT "webUrl", "file" FROM THE_LEDGER WHERE "table_name" = '{self.table}' ORDER BY 1""")

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row, whole, in webUrl order: two tables with the same rows give equal lists."""
        return [tuple(map(_comparable, row)) for row in self.query('SELECT * FROM THE_TABLE ORDER BY "webUrl"')]

    def load(self, run_cli: RunCli, *args: str) -> Any:
        return run_cli("load", *args, "--into", self.location, "--table", self.table)

    def other(self) -> Target:
        """Another fresh table in the same database."""
        return Target(self.backend, self.location, f"articles_{uuid.uuid4().hex[:12]}", self.made)


def _comparable(value: Any) -> Any:
    return repr(value)  # nested values (dicts, lists of dicts) are not hashable or orderable as they come


@pytest.fixture(params=["duckdb", "sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    table = f"articles_{uuid.uuid4().hex[:12]}"  # tests share the server; each gets its own table
    if request.param == "duckdb":
        yield Target("duckdb", str(tmp_path / "warehouse.duckdb"), table)
        return
    if request.param == "sqlite":
        yield Target("sqlite", str(tmp_path / "warehouse.sqlite"), table)
        return
    url = request.getfixturevalue("postgres_url")
    made = Target("postgres", url, table)
    yield made
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for name in made.made:
            connection.execute(f'DROP TABLE IF EXISTS "{name}"'.encode())
        if connection.execute(f"SELECT to_regclass('{LEDGER}')".encode()).fetchone() != (None,):
            connection.execute(f'DELETE FROM "{LEDGER}" WHERE "table_name" = ANY(%s)'.encode(), [made.made])
