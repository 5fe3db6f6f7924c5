"""What stops a load, by exit code: usage (2) and a write that could not go ahead (3)."""


class LoadError(Exception):
    """The target cannot be loaded: a missing driver, a bad address, a table that does not fit."""


class LoadFailed(Exception):
    """The database failed while the load wrote (a lost connection, a full disk): exit 3, nothing changed."""


class LoadConflict(LoadFailed):
    """The table changed under the load (another load committed meanwhile): run it again."""
