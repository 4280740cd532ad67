"""The README documents every setting and every subcommand (so docs cannot silently drift)."""

from __future__ import annotations

from pathlib import Path

from onionscope.cli import COMMANDS
from config.settings import DEFAULTS, env_name

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    missing = [key for key in DEFAULTS if f"`{key}`" not in README or f"`{env_name(key)}`" not in README]
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    assert [name for name in COMMANDS if f"onionscope {name}" not in README] == []


def test_the_two_commands_are_there() -> None:
    assert "make demo" in README and "make test" in README
