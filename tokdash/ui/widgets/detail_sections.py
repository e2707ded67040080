"""The sections of the detail screen, as Rich renderables built from a session's numbers.

Pure rendering: each function takes a summary (and its costs, tips, the theme's
styles) and returns what a ``Static`` shows. Strings from transcripts go through
the one sanitiser and into ``Text`` as plain text, never markup.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text

from tokdash.format import clean, fmt_age, fmt_cost, fmt_count, fmt_duration, fmt_local_time, fmt_rate, fmt_tokens
from tokdash.model import bands
from tokdash.model.costs import SessionCosts
from tokdash.model.insights import Tip
from tokdash.model.session import SessionSummary
from tokdash.ui.styles import context_style, hit_style


def _plain(text: str | None, style: str = "") -> Text:
    """Untrusted text as Rich ``Text``: cleaned, shown literally, never parsed as markup."""
    return Text(clean(text), style=style)


def _local_time(ts: float | None) -> str:
    return fmt_local_time(ts, seconds=True)


def kinds(s: SessionSummary, costs: SessionCosts) -> RenderableType:
    u, c = s.usage, costs.by_kind
    t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), expand=False, show_edge=False)
    t.add_column("kind", no_wrap=True)
    t.add_column("tokens", justify="right", no_wrap=True)
    t.add_column("cost", justify="right", no_wrap=True)
    t.add_column("what it is", style="dim", ratio=1)
    partial = s.cost_partial
    rows = [
        ("input", u.input, c.input, "uncached input (Codex: minus cached)"),
        ("output", u.output, c.output,
         "incl. thinking" + (f" ({fmt_count(u.reasoning)} reasoning)" if u.reasoning else "/reasoning")),
        ("cache write 5m", u.cache_write_5m, c.cache_write_5m, "to the 5-minute cache (~1.25× input)"),
        ("cache write 1h", u.cache_write_1h, c.cache_write_1h, "to the 1-hour cache (~2× input)"),
        ("cache read", u.cache_read, c.cache_read, "served from the cache (~0.1× input)"),
    ]
    for name, tokens, cost, definition in rows:
        t.add_row(Text(name), Text(fmt_count(tokens)), Text(fmt_cost(cost, partial)), Text(definition))
    if u.web_search or c.web_search:
        t.add_row(Text("web search"), Text(f"{fmt_count(u.web_search)} req"), Text(fmt_cost(c.web_search, partial)),
                  Text("server-side searches, per request"))
    t.add_row(Text("total", style="bold"), Text(fmt_count(u.total), style="bold"),
              Text(fmt_cost(s.cost, partial), style="bold"),
              Text("input + output + cache write + cache read"))
    if partial:
        return Group(t, Text.assemble(
            ("+ lower bound: no price for ", "dim"), _plain(", ".join(s.unpriced_models), "dim")))
    return t

def models(s: SessionSummary, costs: SessionCosts) -> RenderableType:
    t = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), show_edge=False)
    t.add_column("model", overflow="fold", ratio=1)
    for name in ("calls", "input", "output", "cache w", "cache r", "total", "cost"):
        t.add_column(name, justify="right", no_wrap=True)
    for model in s.models:
        m = s.by_model[model]
        u = m.usage
        cost = Text(fmt_cost(m.cost)) if m.priced else Text("unpriced", style="dim")
        t.add_row(_plain(model), Text(str(m.calls)), Text(fmt_tokens(u.input)), Text(fmt_tokens(u.output)),
                  Text(fmt_tokens(u.cache_write)), Text(fmt_tokens(u.cache_read)), Text(fmt_tokens(u.total)),
                  cost)
    if not s.models:
        return Text("no API calls yet", style="dim")
    return t


def cache(s: SessionSummary, styles: dict[str, Style], context_bad: float = bands.CONTEXT_BAD) -> RenderableType:
    u = s.usage
    rate = s.cache_hit_rate
    t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
    t.add_column("name", no_wrap=True)
    t.add_column("value", no_wrap=True)
    t.add_column("definition", style="dim", ratio=1)
    t.add_row(
        Text("cache hit"),
        Text(fmt_rate(rate), style=styles[hit_style(rate)] + Style(bold=True)),
        Text(f"cache read / (input + cache write + cache read) = {fmt_tokens(u.cache_read)} / "
             f"{fmt_tokens(u.input_side)}"),
    )
    pct = s.context_pct
    if s.context_window:
        width = 10
        filled = min(width, round((pct or 0.0) * width))
        bar = Text("█" * filled, style=styles[context_style(pct, context_bad) or "ok"])
        bar.append("░" * (width - filled), style="dim")
        bar.append(f" {(pct or 0.0) * 100:.0f} %")
        value = bar
        definition = (f"{fmt_tokens(s.context_tokens)} of {fmt_tokens(s.context_window)}: the last "
                      "main-chain call's input + cache read + cache write")
    else:
        value = Text(fmt_tokens(s.context_tokens) if s.context_tokens else "—")
        definition = "last main-chain call's input + cache read + cache write (window unknown)"
    t.add_row(Text("context"), value, Text(definition))
    t.add_row(Text("compactions"), Text(str(s.compactions)),
              Text("times the conversation was summarised to free context"))
    return t


def activity(s: SessionSummary, now: float, archived: bool) -> RenderableType:
    t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
    t.add_column("name", no_wrap=True)
    t.add_column("value", no_wrap=True)
    t.add_column("definition", style="dim", ratio=1)
    rows: list[tuple[str, Text, str]] = [
        ("API calls", Text(fmt_count(s.api_calls)), "billed calls after dedup, sub-agents' too"),
        ("assistant turns", Text(fmt_count(s.assistant_turns)), "main-chain calls only"),
        ("prompts", Text(fmt_count(s.prompts)), "typed by a human (not tool results or summaries)"),
        ("rate-limit hits", Text(fmt_count(s.rate_limits)), "usage-limit and 429 notices"),
        ("API errors", Text(fmt_count(s.api_errors)), "other API errors the CLI recorded"),
        ("first activity", Text(_local_time(s.first_activity)), "local time"),
        ("last activity", Text(_local_time(s.last_activity)),
         fmt_age(now - s.last_activity) if s.last_activity is not None else ""),
        ("duration", Text(fmt_duration(s.duration)), "first to last activity"),
        ("CLI version", _plain(s.cli_version or "—"), "the latest the transcript names"),
        ("git branch", _plain(s.git_branch or "—"), "the latest the transcript names"),
        ("files", Text(str(len(s.paths))),
         "transcripts: main and sub-agents" + (" (all deleted since)" if archived else "")),
    ]
    if s.forked_from:
        rows.append(("forked from", _plain(s.forked_from), "the session this one was forked from"))
    if s.bad_lines:
        rows.append(("unreadable lines", Text(fmt_count(s.bad_lines)), "not JSON: skipped, not counted"))
    for name, value, definition in rows:
        t.add_row(Text(name), value, Text(definition))
    return t

def tools(s: SessionSummary) -> RenderableType:
    if not s.tool_uses:
        return Text("none", style="dim")
    out = Text()
    items = sorted(s.tool_uses.items(), key=lambda kv: (-kv[1], kv[0]))
    for i, (name, count) in enumerate(items):
        if i:
            out.append("  ·  ", style="dim")
        out.append_text(_plain(name))
        out.append(f" {count}", style="bold")
    out.append(f"\n{fmt_count(s.tool_use_count)} tool uses in all, sub-agents included", style="dim")
    return out

def subagents(s: SessionSummary) -> RenderableType:
    if not s.subagents:
        return Text("none", style="dim")
    t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_edge=False)
    t.add_column("agent", overflow="fold", ratio=1)
    t.add_column("model", overflow="fold", ratio=1)
    for name in ("calls", "tokens", "cost"):
        t.add_column(name, justify="right", no_wrap=True)
    for a in s.subagents:
        models = ", ".join(m for m, _ in a.models.most_common())
        name = _plain(a.agent_id)
        if a.task:
            name.append_text(Text(" · ", style="dim")).append_text(_plain(a.task, "dim"))
        t.add_row(name, _plain(models), Text(str(a.calls)), Text(fmt_tokens(a.usage.total)),
                  Text(fmt_cost(a.cost)))
    return t

def tips(found: list[Tip], styles: dict[str, Style]) -> RenderableType:
    if not found:
        return Text("No tips: this session's numbers look healthy.", style="dim")
    parts: list[RenderableType] = []
    good = styles["ok"] + Style(bold=True)
    for i, tip in enumerate(found):
        line = Text("▸ ", style="bold")
        line.append_text(_plain(tip.title, "bold"))
        found_saving = saving(tip)
        if found_saving:
            line.append(f"  saves ≈ {found_saving}", style=good)
        if i:
            parts.append(Text(""))
        parts.append(line)
        parts.append(Padding(_plain(tip.figure), (0, 0, 0, 2)))
        parts.append(Padding(_plain(tip.detail, "dim"), (0, 0, 0, 2)))
    return Group(*parts)



def saving(tip: Tip) -> str:
    """A tip's estimated saving as one phrase, e.g. ``$0.42 (12.3k tokens)``."""
    bits = []
    if tip.saving_usd is not None:
        bits.append(fmt_cost(tip.saving_usd))
    if tip.saving_tokens:
        tokens = f"{fmt_tokens(tip.saving_tokens)} tokens"
        bits.append(f"({tokens})" if bits else tokens)
    return " ".join(bits)
