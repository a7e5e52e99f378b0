"""The TOML memo: tomllib's answers remembered by content, never a stale or a wrong one."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from acme_ci.core.workspace import WorkspaceError
from acme_ci.native import discover, toml_memo
from acme_ci.native.toml_memo import TomlMemo

MANIFEST = '[project]\nname = "p"\nversion = "1.0"\n[tool.acme]\nkind = "service"\nn = 1.5\n'


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> dict[str, Any]:
        raise AssertionError("parsed instead of remembered")

    monkeypatch.setattr(toml_memo, "toml_loads", refuse)


def test_an_answer_is_tomllibs_and_is_remembered_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo = TomlMemo(tmp_path / "state" / "memo")
    assert memo.loads(MANIFEST) == tomllib.loads(MANIFEST)
    assert not (tmp_path / "state").exists()  # no state directory yet: nothing is kept
    (tmp_path / "state").mkdir()
    assert memo.loads(MANIFEST) == tomllib.loads(MANIFEST)
    assert len(list((tmp_path / "state" / "memo").glob("*.json"))) == 1

    no_parsing(monkeypatch)
    assert TomlMemo(tmp_path / "state" / "memo").loads(MANIFEST) == tomllib.loads(MANIFEST)
    edited = MANIFEST.replace('"1.0"', '"2.0"')
    with pytest.raises(AssertionError, match="parsed"):  # a new text is never answered old
        memo.loads(edited)


def test_an_unreadable_entry_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    memo = TomlMemo(tmp_path / "memo")
    memo.loads(MANIFEST)
    (entry,) = (tmp_path / "memo").glob("*.json")
    for damage in ('{"project": ', "[1, 2]"):  # cut short; not a table
        entry.write_text(damage)
        assert memo.loads(MANIFEST) == tomllib.loads(MANIFEST)


def test_dates_are_answered_but_not_remembered_and_bad_toml_still_raises(
    tmp_path: Path,
) -> None:
    memo = TomlMemo(tmp_path / "memo")
    dated = "[project]\nname = 'p'\nreleased = 2026-11-29\n"
    assert memo.loads(dated) == tomllib.loads(dated)
    assert not (tmp_path / "memo").exists()
    with pytest.raises(tomllib.TOMLDecodeError):
        memo.loads("[project\n")


def test_a_directory_it_cannot_write_costs_nothing_but_the_memo(tmp_path: Path) -> None:
    blocked = tmp_path / "memo"
    blocked.write_text("a file where the memo directory would be")
    assert TomlMemo(blocked).loads(MANIFEST) == tomllib.loads(MANIFEST)
    assert [p.name for p in tmp_path.iterdir()] == ["memo"]  # no staging file left


def test_the_workspace_is_found_from_a_member_and_only_the_root_keeps_a_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    member = root / "libs" / "a"
    member.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["libs/*"]\n')
    (member / "pyproject.toml").write_text(  # says "workspace", so it is parsed
        '[project]\nname = "a"\n[tool.uv.sources]\nlocal = { path = "../workspace" }\n'
    )
    assert discover.find_root(member) == root
    first = discover.load_workspace(root)
    assert not (root / ".acme").exists()  # reading the workspace creates no state
    (root / ".acme").mkdir()  # as a run does
    (member / ".acme").mkdir()
    assert discover.find_root(member) == root
    assert not any((member / ".acme").iterdir())  # a member's manifest is never kept
    assert discover.load_workspace(root) == first
    assert len(list((root / ".acme" / "toml").glob("*.json"))) == 2  # root and member

    no_parsing(monkeypatch)  # from the root: the root's and the members' answers kept
    assert discover.find_root(root) == root
    assert discover.load_workspace(root) == first

    (member / "pyproject.toml").write_text("[project\n")
    monkeypatch.undo()
    with pytest.raises(WorkspaceError, match=r"libs/a/pyproject\.toml is not valid TOML"):
        discover.load_workspace(root)
