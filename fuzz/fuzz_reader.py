"""Coverage-guided fuzzing of the reader and validator with atheris (libFuzzer). See fuzz/README.md.

The property is the one CI checks with hypothesis in tests/test_fuzz.py, for
as long as you care to run it: whatever the bytes, checking a file returns a
result with per-file errors and never raises.
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from converters.check import CheckOptions, check_bytes
    from converters.schema import load_schema
    from converters.validate import ArticleValidator

VALIDATOR = ArticleValidator(load_schema())
OPTIONS = CheckOptions(keep_records=True)


def test_one_input(data: bytes) -> None:
    result = check_bytes("fuzzed.md", data, VALIDATOR, OPTIONS)  # an exception here is a finding
    for finding in result.errors:
        if not finding.keyword or not finding.message:
            raise AssertionError(f"an error without a keyword or message: {finding}")
    if result.record is not None:
        json.dumps(result.record, ensure_ascii=False).encode("utf-8")  # every accepted record can be exported


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
