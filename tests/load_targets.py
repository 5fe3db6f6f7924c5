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
        """SQL, with THE_TABLE and THE_LEDGER for the two tables. A Delta table is read by Polars, and
        queried with Polars' SQL (a SELECT only); its ledger is in its own rows."""
        sql = sql.replace("THE_TABLE", f'"{self.table}"').replace("THE_LEDGER", f'"{LEDGER}"')
        if self.backend == "delta":
            import polars as pl

            return pl.SQLContext({self.table: pl.read_delta(self.path)}).execute(sql, eager=True).rows()
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

    @property
    def shown(self) -> str:
        """How messages name the table: a Delta table by its path."""
        return self.path if self.backend == "delta" else self.table

    @property
    def path(self) -> str:
        return self.location.removeprefix("delta:")

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM THE_TABLE")[0][0])

    def ledger(self) -> list[tuple[Any, ...]]:
        """The ledger's entries for the table: (webUrl, file), in webUrl order."""
        if self.backend == "delta":
            where = '"_articles_file" IS NOT NULL'
            return self.query(f'SELECT "webUrl", "_articles_file" FROM THE_TABLE WHERE {where} ORDER BY "webUrl"')
        return self.query(f"""SELECT "webUrl", "file" FROM THE_LEDGER WHERE "table_name" = '{self.table}' ORDER BY 1""")

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row, whole but for a Delta table's ledger columns, in webUrl order: two tables with the same
        rows give equal lists."""
        if self.backend == "delta":
            import polars as pl

            frame = pl.read_delta(self.path).sort("webUrl")
            rows = frame.select([name for name in frame.columns if not name.startswith("_articles_")]).rows()
        else:
            rows = self.query('SELECT * FROM THE_TABLE ORDER BY "webUrl"')
        return [tuple(map(_comparable, row)) for row in rows]

    def insert_by_hand(self, url: str, title: str) -> None:
        """A row no load wrote, as a person or another tool adds one."""
        if self.backend != "delta":
            self.query(f"""INSERT INTO THE_TABLE ("webUrl", title) VALUES ('{url}', '{title}')""")
            return
        import pyarrow as pa
        from deltalake import DeltaTable, write_deltalake

        schema = pa.schema(DeltaTable(self.path).schema().to_arrow())
        row = dict.fromkeys(schema.names) | {"webUrl": url, "title": title}
        write_deltalake(self.path, pa.Table.from_pylist([row], schema=schema), mode="append")

    def forget_urls_like(self, prefix: str, *, ledger: bool = True) -> None:
        """Delete rows by hand, and their ledger entries (a Delta table's are in the rows themselves)."""
        if self.backend == "delta":
            from deltalake import DeltaTable

            DeltaTable(self.path).delete(f"\"webUrl\" LIKE '{prefix}%'")
            return
        self.query(f"DELETE FROM THE_TABLE WHERE \"webUrl\" LIKE '{prefix}%'")
        if ledger:
            self.query(f"DELETE FROM THE_LEDGER WHERE \"webUrl\" LIKE '{prefix}%'")

    def load(self, run_cli: RunCli, *args: str) -> Any:
        return run_cli("load", *args, "--into", self.location, "--table", self.table)

    def other(self) -> Target:
        """Another fresh table in the same database (for Delta, in the same folder)."""
        table = f"articles_{uuid.uuid4().hex[:12]}"
        location = f"delta:{Path(self.path).parent / table}" if self.backend == "delta" else self.location
        return Target(self.backend, location, table, self.made)


def _comparable(value: Any) -> Any:
    return repr(value)  # nested values (dicts, lists of dicts) are not hashable or orderable as they come


@pytest.fixture(params=["duckdb", "sqlite", "postgres", "delta"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    table = f"articles_{uuid.uuid4().hex[:12]}"  # tests share the server; each gets its own table
    if request.param == "delta":
        yield Target("delta", f"delta:{tmp_path / 'lake' / table}", table)
        return
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
