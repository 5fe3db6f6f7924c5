"""The script a user writes in an afternoon: the baseline every ratio is measured against.

    python benchmarks/baseline.py CORPUS SCHEMA OUT.json

python-frontmatter reads each file, jsonschema (with a FormatChecker, so
`format` is checked as `articles` checks it) validates it, and json.dump
writes the valid ones; one process, files in sorted order. It is kept
deliberately plain: it is what `articles` has to beat.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import frontmatter
import jsonschema


def _plain(value: object) -> object:
    # PyYAML turns timestamps into datetimes; the schema wants the text.
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def main() -> int:
    corpus, schema_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    valid, invalid = [], 0
    for path in sorted(corpus.rglob("*.md")):
        post = frontmatter.load(path)
        record = _plain(dict(post.metadata))
        if post.content:
            record["body"] = post.content
        errors = list(validator.iter_errors(record))
        if errors:
            invalid += 1
            for error in errors:
                print(f"{path}: {error.message}", file=sys.stderr)
        else:
            valid.append(record)
    with out.open("w", encoding="utf-8") as stream:
        json.dump(valid, stream, ensure_ascii=False)
    print(f"{len(valid)} valid, {invalid} invalid", file=sys.stderr)
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
