"""The help's sections, gathered from every screen's bindings and the rules' texts.

The one module besides the app that knows every screen (it reads their
``BINDINGS``); the help screen itself only renders what it is given.
"""

from __future__ import annotations

from textual.app import App

from tokdash.model.heavy import HeavyThresholds
from tokdash.ui import texts
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.help import HelpScreen, HelpSection, key_rows
from tokdash.ui.screens.history import HistoryScreen
from tokdash.ui.screens.history_sessions import HistorySessionsScreen
from tokdash.ui.screens.sessions import SessionsScreen
from tokdash.ui.widgets.day_bars import DayBars
from tokdash.ui.widgets.sessions_table import SessionsTable


def help_sections(app: App, thresholds: HeavyThresholds) -> list[HelpSection]:
    """Keys of every screen, formulas, rules (with the thresholds in force), tips, honesty."""

    def rows(bindings) -> list[tuple[str, str]]:
        return key_rows(bindings, app.get_key_display)

    # Each class's own BINDINGS only: DataTable's cursor keys are covered by the first row.
    sessions = [("↑ ↓ / click", "move between sessions; enter opens one")]
    sessions += rows(vars(SessionsScreen).get("BINDINGS", [])) + rows(vars(SessionsTable).get("BINDINGS", []))
    history = (rows(DayBars.BINDINGS) + rows(HistoryScreen.BINDINGS)
               + [("tab", "between the bars and the project and model tables; enter lists their sessions")])
    history_sessions = [("↑ ↓ enter", "pick a session, open its detail")] + rows(HistorySessionsScreen.BINDINGS)
    groups = [
        ("Sessions", sessions),
        ("Session detail", rows(SessionDetailScreen.BINDINGS)),
        ("History", history),
        ("History sessions", history_sessions),
        ("Everywhere", rows(type(app).BINDINGS) + [("ctrl+p", "command palette: find a session by name")]),
        ("Help", rows(HelpScreen.BINDINGS)),
    ]
    keys: list[tuple[str, str, str]] = []
    for where, found in groups:
        seen: set[tuple[str, str]] = set()
        first = True
        for key, does in found:
            if (key, does) in seen:
                continue
            seen.add((key, does))
            keys.append((where if first else "", key, does))
            first = False
    return [
        HelpSection("Keys", "keys", tuple(keys)),
        HelpSection("Formulas", "formulas", tuple(texts.formulas())),
        HelpSection("Status, heavy sessions, dedup", "rules", tuple(texts.rules(thresholds))),
        HelpSection("Tips", "tips", tuple(texts.tip_rules())),
        HelpSection("Honesty", "honesty", text=(texts.HONESTY, texts.PLAIN_TEXT_NOTE)),
    ]
