"""The test environment is locked, and the lock still satisfies what pyproject.toml asks for."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = (REPO / "tests" / "requirements.txt").read_text(encoding="utf-8")
PINNED = {
    canonicalize_name(name): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", LOCK, re.M)
}
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _test_command() -> str:
    return README.split("<!-- test-command", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]


def test_the_readme_test_command_installs_the_lock_with_hashes_and_nothing_else() -> None:
    command = _test_command()
    assert "--require-hashes -r tests/requirements.txt" in command
    assert "--no-deps --no-build-isolation ." in command  # the package itself adds nothing unpinned
    assert "'.[test]'" not in command


def test_every_locked_package_has_its_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.split("\n", 1)[1])
    for entry in (e for e in entries if "==" in e):
        assert "--hash=sha256:" in entry, entry.split("\n", 1)[0]


@pytest.mark.parametrize(
    "requirement",
    [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"], "hatchling", "pip"],
)
def test_the_lock_pins_every_dependency_within_its_range(requirement: str) -> None:
    wanted = Requirement(requirement)
    pinned = PINNED.get(canonicalize_name(wanted.name))
    assert pinned is not None, f"{wanted.name} is not in tests/requirements.txt: compile the lock again (README)"
    assert wanted.specifier.contains(pinned, prereleases=True), f"{wanted.name}=={pinned} is outside {wanted}"
