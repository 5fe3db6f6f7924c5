"""Finding article files: order, filters, links and overlapping arguments."""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converters.discover import ExcludeRules, InputError, absolute, find_article_files, is_excluded


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")


def _relative(paths: list[str], root: Path) -> list[str]:
    return [os.path.relpath(p, root) for p in paths]


def test_walks_in_name_order_and_keeps_article_extensions(tmp_path: Path) -> None:
    _touch(tmp_path, "b.md", "a.txt", "sub/c.yaml", "sub/d.yml", "e.markdown", "notes.rst", "img.png")
    found = _relative(list(find_article_files([str(tmp_path)])), tmp_path)
    assert found == ["a.txt", "b.md", "e.markdown", "sub/c.yaml", "sub/d.yml"]


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    _touch(tmp_path, ".git/x.md", ".hidden.md", "visible.md", "sub/.cache/y.md")
    assert _relative(list(find_article_files([str(tmp_path)])), tmp_path) == ["visible.md"]


def test_include_replaces_the_patterns(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md", "b.rst", "news/c.rst", "other/d.rst")
    assert _relative(list(find_article_files([str(tmp_path)], ["*.rst"])), tmp_path) == [
        "b.rst",
        "news/c.rst",
        "other/d.rst",
    ]
    assert _relative(list(find_article_files([str(tmp_path)], ["news/*.rst"])), tmp_path) == ["news/c.rst"]


def test_a_directory_symlink_loop_does_not_trap_the_walk(tmp_path: Path) -> None:
    _touch(tmp_path, "a/x.md")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert _relative(list(find_article_files([str(tmp_path)])), tmp_path) == ["a/x.md"]


def test_a_fifo_is_skipped_and_a_broken_link_is_kept_to_be_reported(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md")
    os.mkfifo(tmp_path / "pipe.md")
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing.md")
    assert _relative(list(find_article_files([str(tmp_path)])), tmp_path) == ["a.md", "gone.md"]


def test_overlapping_arguments_yield_each_file_once(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md", "sub/b.md")
    args = [str(tmp_path / "sub" / "b.md"), str(tmp_path), str(tmp_path / "sub"), str(tmp_path)]
    assert _relative(list(find_article_files(args)), tmp_path) == ["a.md", "sub/b.md"]


def test_files_given_explicitly_are_kept_whatever_their_name(tmp_path: Path) -> None:
    _touch(tmp_path, "article.rst")
    assert list(find_article_files([str(tmp_path / "article.rst")])) == [str(tmp_path / "article.rst")]


def test_a_missing_path_is_an_input_error_before_anything_is_yielded(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md")
    with pytest.raises(InputError, match="does not exist"):
        next(find_article_files([str(tmp_path), str(tmp_path / "nope")]))


def test_an_empty_path_is_an_input_error_not_the_current_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="an empty path"):
        next(find_article_files([str(tmp_path), ""]))


def test_stdin_only_once() -> None:
    with pytest.raises(InputError, match="only once"):
        list(find_article_files(["-", "-"]))


@pytest.mark.parametrize(
    ("relative", "pattern", "through_folders", "excluded"),
    [
        ("README.md", "README.md", False, True),
        ("docs/README.md", "README.md", False, True),  # without /: the name
        ("drafts/a.md", "drafts", False, False),  # a walk prunes the folder itself
        ("drafts/a.md", "drafts", True, True),  # a file given by name: every folder on its path
        ("tests/cases", "tests/cases", False, True),  # with /: the whole path
        ("tests/cases/invalid/x.md", "tests/cases", True, True),
        ("tests/cases/invalid/x.md", "cases/invalid", True, False),  # ... from the start of the path
        ("tests/cases/invalid/x.md", "tests/*/invalid", True, True),
        ("./a/b.md", "a/", True, True),
        ("tests", "/tests", False, True),  # a leading / anchors a name to the top
        ("sub/tests", "/tests", False, False),
        ("notes/a.md", "*.txt", True, False),
        ("a.markdown", "*.md", False, False),
    ],
)
def test_exclude_patterns(relative: str, pattern: str, through_folders: bool, excluded: bool) -> None:
    assert is_excluded(relative, [pattern], through_folders=through_folders) is excluded


def test_excluded_folders_are_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "README.md", "a.md", "drafts/b.md", "tests/cases/c.md", "tests/d.md")
    monkeypatch.chdir(tmp_path)
    opened: list[str] = []
    scandir = os.scandir

    def recording_scandir(path: str) -> object:
        opened.append(os.path.relpath(path, tmp_path))
        return scandir(path)

    monkeypatch.setattr("converters.discover.os.scandir", recording_scandir)
    left_out: list[str] = []
    found = list(find_article_files(["."], excludes=["README.md", "drafts", "tests/cases"], left_out=left_out))
    assert _relative(found, tmp_path) == ["a.md", "tests/d.md"]
    assert sorted(_relative(left_out, tmp_path)) == ["README.md", "drafts", "tests/cases"]
    assert sorted(opened) == [".", "tests"]  # a folder left out is never opened


def test_paths_given_by_name_are_excluded_only_when_forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "README.md", "a.md", "tests/cases/c.md", "tests/cases/d.md")
    monkeypatch.chdir(tmp_path)
    named = ["README.md", "tests/cases/c.md", "a.md", "tests/cases"]
    excludes = ["README.md", "tests/cases"]
    # c.md comes from the walk of tests/cases, which holds it: no file is read twice.
    assert list(find_article_files(named, excludes=excludes)) == [
        "README.md", "a.md", "tests/cases/c.md", "tests/cases/d.md",
    ]  # fmt: skip
    assert list(find_article_files(named, excludes=excludes, force_exclude=True)) == ["a.md"]


def test_exclude_patterns_also_match_from_the_folder_given(tmp_path: Path) -> None:
    _touch(tmp_path, "corpus/cases/x.md", "corpus/y.md")
    found = list(find_article_files([str(tmp_path / "corpus")], excludes=["cases"]))
    assert _relative(found, tmp_path) == ["corpus/y.md"]


def _excluded_by_fnmatch(relative: str, excludes: list[str], through_folders: bool) -> bool:
    """The rule as the docs state it, one fnmatchcase call a pattern: the reference for ExcludeRules."""
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    paths = ["/".join(parts[: end + 1]) for end in range(len(parts))] if through_folders else ["/".join(parts)]
    names = parts if through_folders else parts[-1:]
    for pattern in excludes:
        by_path = "/" in pattern.strip("/") or pattern.startswith("/")
        if parts and any(fnmatchcase(c, pattern.strip("/")) for c in (paths if by_path else names)):
            return True
    return False


_SEGMENTS = st.sampled_from(["a", "b", "data", "drafts", "README.md", "x.md", "tests", "cases", "ü", "[x]", ".", ""])
_GLOBS = st.sampled_from(["*", "*.md", "a", "/a", "a/", "a/*", "*/b", "tests/cases", "/tests", "[ab]", "d?afts", "**"])


@settings(max_examples=500, derandomize=True)
@given(st.lists(_SEGMENTS, max_size=5), st.lists(_GLOBS, max_size=4), st.booleans())
def test_compiled_exclude_rules_match_what_fnmatch_matches(
    parts: list[str], excludes: list[str], through_folders: bool
) -> None:
    relative = "/".join(parts)
    expected = _excluded_by_fnmatch(relative, excludes, through_folders)
    assert ExcludeRules.of(excludes).match(relative, through_folders=through_folders) == expected


@pytest.mark.parametrize(
    "path", ["a/b.md", "/x/y.md", "./a.md", "a/../b.md", "a//b.md", "a/.hidden/b.md", "a/", "..", ".", "/", "a/./b"]
)
def test_absolute_is_abspath_with_the_directory_given(path: str) -> None:
    assert absolute(path, os.getcwd()) == os.path.abspath(path)
