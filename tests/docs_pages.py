"""The documentation as data: its pages, their fenced blocks, and the --help text they quote.

`tests/test_docs.py` checks the pages against the real commands. Run this file to rewrite every
`<!-- help: ... -->` block from the real --help text after changing an option:

    python tests/docs_pages.py
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import typer.main
from typer._click import Command  # typer vendors click; this is the type its get_command returns
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout, the package need not be installed

from converters.cli import app  # noqa: E402

# The width a reader's browser shows without wrapping, and click's own default limit.
HELP_WIDTH = 80
_BLOCK = re.compile(r"(?:<!-- (?P<marker>[^\n]*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    """A fenced block, with the `<!-- ... -->` marker on the line before it, if any."""

    page: Path
    marker: str
    lang: str
    body: str
    start: int  # offset of the body in the page, so the block can be rewritten
    end: int

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.body.splitlines()[0] if self.body else ''}"


def pages() -> list[Path]:
    """Every Markdown page a user reads: the README, the contributor's guide, docs/."""
    return [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    return [
        Block(page, m["marker"] or "", m["lang"], m["body"], m.start("body"), m.end("body"))
        for m in _BLOCK.finditer(text)
    ]


def help_text(command_line: str) -> str:
    """What `articles ... --help` prints at HELP_WIDTH columns."""
    args = shlex.split(command_line)
    assert args[0] == "articles", command_line
    assert args[-1] == "--help", command_line
    result = CliRunner().invoke(app, args[1:], terminal_width=HELP_WIDTH, prog_name="articles")
    assert result.exit_code == 0, result.output
    return result.stdout


def command_options() -> dict[str, set[str]]:
    """Each command's long and short options, as its --help lists them ('' is `articles` itself).

    A group's commands are named with it (`cache info`); the group itself has no options of its own.
    """
    root = typer.main.get_command(app)
    commands: dict[str, Command] = {"": root}
    for name, command in getattr(root, "commands", {}).items():
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            commands[name] = command
        else:
            commands.update({f"{name} {sub}": subcommand for sub, subcommand in subcommands.items()})
    return {name: _shown_options(command) for name, command in commands.items()}


def _shown_options(command: Command) -> set[str]:
    shown = [p for p in command.params if not getattr(p, "hidden", False)]
    return {o for p in shown for o in (*p.opts, *p.secondary_opts) if o.startswith("-") and o != "--help"}


def refresh() -> list[Path]:
    """Rewrite every help block from the real --help; -> the pages that changed."""
    changed = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for block in reversed(blocks(page)):
            if block.marker.startswith("help: "):
                text = text[: block.start] + help_text(block.marker.removeprefix("help: ")) + text[block.end :]
        if text != page.read_text(encoding="utf-8"):
            page.write_text(text, encoding="utf-8")
            changed.append(page)
    return changed


if __name__ == "__main__":
    for path in refresh():
        print(f"rewrote {path.relative_to(REPO)}")
