"""tokdash remembers the theme in its own config file without disturbing anything else in it."""

from __future__ import annotations

import tomllib

import pytest

from tokdash.model.config import ConfigError, ui_theme, write_setting


def test_a_setting_is_added_then_replaced_and_every_other_line_stays(tmp_path):
    path = tmp_path / "tokdash" / "config.toml"
    write_setting(path, "ui", "theme", "textual-light")  # no file, no folder yet
    assert ui_theme(path) == "textual-light"
    original = ('# my prices\n[prices."my-model"]\ninput = 1.0  # negotiated\noutput = 2.0\n\n'
                '[ui]\n# the last theme\ntheme = "textual-light"\n\n[heavy]\ncost_factor = 8\n')
    path.write_text(original)
    write_setting(path, "ui", "theme", 'nord "quoted" ✓')
    text = path.read_text()
    assert text == original.replace('theme = "textual-light"', 'theme = "nord \\"quoted\\" ✓"')
    data = tomllib.loads(text)
    assert data["ui"]["theme"] == 'nord "quoted" ✓' and data["heavy"]["cost_factor"] == 8
    assert ui_theme(path) == 'nord "quoted" ✓'


def test_a_table_is_appended_when_missing(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[heavy]\nmin_fleet = 3")  # no final newline
    write_setting(path, "ui", "theme", "dracula")
    assert tomllib.loads(path.read_text()) == {"heavy": {"min_fleet": 3}, "ui": {"theme": "dracula"}}


def test_a_broken_file_is_never_rewritten(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[heavy\nmin_fleet = ")
    with pytest.raises(ConfigError):
        write_setting(path, "ui", "theme", "dracula")
    assert path.read_text() == "[heavy\nmin_fleet = "
    assert ui_theme(path) is None
