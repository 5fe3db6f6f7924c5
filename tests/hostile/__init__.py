"""The hostile-input corpus: files nobody checked, each with the outcome it must get.

The corpus is built by code at test time rather than committed: some of it is
tens of megabytes, some is ten thousand files, some is symlinks and
permissions that git does not keep. `build(root)` writes it and returns what
every file must give: the keyword of its first error, or ACCEPTED.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

ACCEPTED = "accepted"
SEED = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.txt"))[0].read_text(encoding="utf-8")
TINY_FILES = 10_000
BIG_VALUE = 50 * 10**6  # over the default 16 MiB limit: refused after reading 16 MiB + 1 byte, never parsed


def _seed(webUrl: str) -> str:
    """The first seed with its own webUrl, so that uniqueness never hides another error."""
    return SEED.replace('webUrl: "https://', f'webUrl: "https://{webUrl}.', 1)


def _front_matter(yaml: str) -> bytes:
    return f"---\n{yaml}\n---\n".encode()


def _nested_alias_bomb() -> bytes:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        anchor, previous = chr(97 + level), chr(96 + level)
        lines.append(f"{anchor}: &{anchor} [{', '.join([f'*{previous}'] * 10)}]")
    return _front_matter("\n".join(lines))


def _big_value() -> bytes:
    title = next(line for line in SEED.split("\n") if line.startswith("title:"))
    return _seed("big").replace(title, 'title: "' + "x" * BIG_VALUE + '"', 1).encode()


def _over_limit() -> bytes:
    """A valid article whose body takes it just past the 16 MiB limit."""
    return _seed("over").encode() + b"\n" + b"A line of body text.\n" * (16 * 2**20 // 21 + 1)


# name (a path under the corpus root) -> (its bytes, the keyword of its first error or ACCEPTED)
FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "alias-bomb-nested.md": (_nested_alias_bomb, "alias-budget"),
    "alias-bomb-wide.md": (
        lambda: _front_matter("a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 100_000) + "]"),
        "alias-budget",
    ),
    "deep-flow.md": (lambda: _front_matter("x: " + "[" * 100_000 + "]" * 100_000), "depth"),
    "deep-block.md": (lambda: _front_matter("x:\n  " + "- " * 100_000 + "x"), "depth"),
    "big-value.md": (_big_value, "size"),
    "over-limit.md": (_over_limit, "size"),
    "invalid-utf8.md": (lambda: _seed("utf8").encode().replace(b"Karachi", b"Kar\xe2\x28chi", 1), "encoding"),
    "utf16-bom.md": (lambda: _seed("utf16").encode("utf-16"), "encoding"),
    "nul-bytes.md": (lambda: _seed("nul").encode().replace(b"Karachi", b"Kar\x00chi", 1), "yaml"),
    "cr-only.md": (lambda: _seed("cr").replace("\n", "\r").encode(), "line-ending"),
    "only-delimiter.md": (lambda: b"---\n", "front-matter"),
    "only-delimiters.md": (lambda: b"---\n---\n", "empty"),
    "key-integer.md": (lambda: _seed("int").replace("---\n", "---\n1: x\n", 1).encode(), "key-type"),
    "key-complex.md": (lambda: _seed("complex").replace("---\n", "---\n? [a]\n: x\n", 1).encode(), "key-type"),
    "key-null.md": (lambda: _seed("null").replace("---\n", "---\nnull: x\n", 1).encode(), "key-type"),
    "tag-python.md": (
        lambda: _seed("py").replace("---\n", "---\nx: !!python/object/apply:os.system ['echo pwned']\n", 1).encode(),
        "tag",
    ),
    "tag-binary.md": (lambda: _seed("bin").replace("---\n", "---\nx: !!binary aGVsbG8=\n", 1).encode(), "tag"),
    "tag-custom.md": (lambda: _seed("custom").replace("---\n", "---\nx: !mine value\n", 1).encode(), "tag"),
    "merge-key.md": (lambda: _front_matter("base: &base {a: 1}\nprovider:\n  <<: *base\n  name: x"), "merge-key"),
    "duplicate-key-nested.md": (
        lambda: (
            _seed("dup")
            .replace("provider:\n", "provider:\n  extra:\n    deeper:\n      k: 1\n      k: 2\n", 1)
            .encode()
        ),
        "duplicate-key",
    ),
    "lone-surrogate.md": (lambda: _seed("surrogate").replace("Karachi", "Kar\\ud800chi", 1).encode(), "yaml"),
    "zero-byte.md": (lambda: b"", "empty"),
    "valid.md": (lambda: _seed("valid").encode(), ACCEPTED),
    "with space/ünïcødé ✓ name.md": (lambda: _seed("unicode").encode(), ACCEPTED),
    "loop/inside.md": (lambda: _seed("loop").encode(), ACCEPTED),
}


def build(root: Path) -> dict[str, str]:
    """Write the corpus under `root`; -> relative path -> expected outcome, for every article file in it."""
    expected: dict[str, str] = {}
    for name, (content, outcome) in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content())
        expected[name] = outcome
    # A directory symlink loop: a walk that followed it would never end.
    os.symlink("..", root / "loop" / "back-to-root")
    tiny = root / "tiny"
    tiny.mkdir()
    for number in range(TINY_FILES):
        name = f"tiny/{number:05d}.md"
        (root / name).write_bytes(b"x\n")
        expected[name] = "front-matter"
    return expected
