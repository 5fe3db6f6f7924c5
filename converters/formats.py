"""The `format` checks this project makes itself, without importing jsonschema.

Importing jsonschema costs about 60 ms (it loads every draft's meta-schema),
which was a quarter of the time to validate one file. The valid case never
needs it: jsonschema-rs gives the verdict, and calls these functions for the
formats it checks differently from jsonschema (`date-time`, `hostname`).
They are jsonschema's own checks, made with the same packages
(jsonschema/_format.py); `date-time` adds the range every export needs, and
`uri` is pinned to one package. jsonschema uses them too, when it words the
errors (validate.format_checker). tests/test_formats.py holds them to
jsonschema's FormatChecker.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable

from converters.timestamps import OutOfRange, representable

# name -> (check, the exceptions that mean "does not conform"), as jsonschema's FormatChecker keeps them.
Check = tuple[Callable[[object], bool], type[Exception] | tuple[type[Exception], ...]]
CHECKS: dict[str, Check] = {}

with contextlib.suppress(ImportError):  # jsonschema, too, checks a format only when its package is there
    from rfc3339_validator import validate_rfc3339

    def date_time(value: object) -> bool:
        """RFC 3339, as jsonschema checks it, whose instant in UTC also fits the years 1 to 9999."""
        if not isinstance(value, str):  # a format constrains strings only; `type` words the rest
            return True
        return bool(validate_rfc3339(value.upper())) and representable(value)

    CHECKS["date-time"] = (date_time, (OutOfRange,))

with contextlib.suppress(ImportError):
    from fqdn import FQDN

    def hostname(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(FQDN(value, min_labels=1).is_valid)

    CHECKS["hostname"] = (hostname, (ValueError,))  # FQDN("") raises rather than saying False

if importlib.util.find_spec("rfc3986_validator") is not None:

    def uri(value: object) -> bool:
        """RFC 3986, always: jsonschema would switch to rfc3987 whenever that package happens to be installed."""
        if not isinstance(value, str):
            return True
        # Imported on first use: it compiles its grammar, 8 ms, and jsonschema-rs checks `uri` itself.
        from rfc3986_validator import validate_rfc3986

        return bool(validate_rfc3986(value, rule="URI"))

    CHECKS["uri"] = (uri, ())
