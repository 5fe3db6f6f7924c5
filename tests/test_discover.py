"""Finding article files: order, filters, links and overlapping arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from converters.discover import InputError, find_article_files


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


def test_stdin_only_once() -> None:
    with pytest.raises(InputError, match="only once"):
        list(find_article_files(["-", "-"]))
