"""What stops a load, by exit code: usage (2) and a write that could not go ahead (3)."""

from collections.abc import Sequence


class LoadError(Exception):
    """The target cannot be loaded: a missing driver, a bad address, a table that does not fit."""


def refused_by_append(table: str, urls: Sequence[str]) -> LoadError:
    """--mode append met rows whose webUrl the table has for another row or file: up to three of them named."""
    shown = ", ".join(sorted(urls)[:3]) + (", ..." if len(urls) > 3 else "")
    return LoadError(
        f"--mode append inserts new articles only, and table {table} already has {len(urls):,} of these "
        f"webUrls ({shown}): load with --mode merge to update them"
    )


class LoadFailed(Exception):
    """The database failed while the load wrote (a lost connection, a full disk): exit 3, nothing changed."""


class LoadConflict(LoadFailed):
    """The table changed under the load (another load committed meanwhile): run it again."""
