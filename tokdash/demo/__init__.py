"""A generated fleet of coding agents writing real transcripts, for ``tokdash --demo`` and tests.

Pure Python (no Textual). :class:`Fleet` runs the sessions of :data:`PLANS` (``plans``);
each is one story (``session``: prompts, turns of tool-calling API calls, turn ends,
compactions, sub-agents) told in its agent CLI's real transcript format by that agent's
writer (``claude``, ``codex``, ``gemini``, ``opencode``, ``qwen``), into a folder laid out
like each CLI's home.
"""

from tokdash.demo.fleet import Fleet
from tokdash.demo.plans import PLANS, Plan

__all__ = ["PLANS", "Fleet", "Plan"]
