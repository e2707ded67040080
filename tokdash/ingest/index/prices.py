"""Prices in the index: each model's price as earlier runs resolved it, and re-pricing.

The ``prices`` table keeps, per model, the ``ModelPrice`` (or NULL: unpriced) a run
resolved from the genai-prices table and the config overrides. While the price
fingerprint holds, those answers are exactly what a fresh ``PriceBook`` gives, so a
run that only appends to sessions of known models never imports the price table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tokdash.ingest.index import codec, db
from tokdash.ingest.index.identity import pricing_code_hash
from tokdash.ingest.index.store import IndexStore
from tokdash.model.records import Usage
from tokdash.model.store import SessionKey


class _Prices:
    """Prices for one run: the models earlier runs resolved first, the real book on first need.

    While the price fingerprint holds, a model's ``ModelPrice`` (or its absence) as an
    earlier run resolved it is exactly what a fresh ``PriceBook`` gives, so appending
    to a session of a known model never loads the genai-prices table (~0.15 s).
    """

    def __init__(self, config_path: Path | None, seed: dict[str, object]) -> None:
        self._config_path = config_path
        self._book = None
        self._plain = None
        self.seed = seed
        """model -> ModelPrice or None (unpriced), as resolved by earlier runs or this one."""
        self.resolved: dict[str, object] = {}
        """Models this run resolved from the table (to be stored)."""

    def _real(self):
        if self._book is None:
            from tokdash.model.pricing import ModelPrice, PriceBook
            from tokdash.model.config import load_config_prices

            codec.register(ModelPrice)
            overrides = load_config_prices(self._config_path) if self._config_path is not None else {}
            owner = self

            class SeededBook(PriceBook):
                """A ``PriceBook`` that answers from the index's resolved prices first."""

                def resolve(self, model: str):  # type: ignore[override]
                    if model in owner.seed:
                        return owner.seed[model]
                    price = super().resolve(model)
                    owner.seed[model] = owner.resolved[model] = price
                    return price

            self._book = SeededBook(overrides)
            self._plain = PriceBook(overrides)
        return self._book

    def warm(self) -> None:
        """Load the price table now (while forked workers read, say), not at the first unknown model."""
        self._real().warm()

    def cost(self, model: str, usage: Usage, *, fast: bool = False) -> float | None:
        """USD of one call (see ``PriceBook.cost``); None when the model is unpriced."""
        return self._real().cost(model, usage, fast=fast)

    def fresh(self, model: str):
        """Resolve ``model`` from the table again, ignoring what earlier runs stored."""
        self._real()
        return self._plain.resolve(model)  # type: ignore[union-attr]


def for_run(conn: sqlite3.Connection, reader: codec.Reader, meta: dict[str, str], price_fp: str,
               config_path: Path | None) -> _Prices:
    """This run's prices, seeded with what earlier runs resolved if that is still valid."""
    seed: dict[str, object] = {}
    if meta.get("price_fp") == price_fp:
        from tokdash.model.pricing import ModelPrice

        codec.register(ModelPrice)
        for model, blob in conn.execute("SELECT model, price FROM prices"):
            seed[model] = reader.loads(blob) if blob is not None else None
    return _Prices(config_path, seed)


def stored_prices(conn: sqlite3.Connection, reader: codec.Reader) -> dict[str, object]:
    """Every model's price as stored (``None``: unpriced), whatever fingerprint it was stored under."""
    from tokdash.model.pricing import ModelPrice

    codec.register(ModelPrice)
    return {
        model: reader.loads(blob) if blob is not None else None
        for model, blob in conn.execute("SELECT model, price FROM prices")
    }


def reprice(conn: sqlite3.Connection, reader: codec.Reader, store: IndexStore, prices: _Prices,
            meta: dict[str, str], changed: set[SessionKey]) -> set[str]:
    """Prices may have changed (a new day, the config, the table): resolve every model
    again and re-summarize the sessions of the models whose price did change.

    Loads those sessions into ``store``, adds them to ``changed`` and returns the models.
    """
    code_changed = meta.get("pricing_code") != pricing_code_hash()
    stored = {} if code_changed else stored_prices(conn, reader)
    moved: set[str] = set()
    for (model,) in conn.execute("SELECT DISTINCT model FROM slots").fetchall():
        new = prices.fresh(model)
        if code_changed or model not in stored or stored[model] != new:
            moved.add(model)
        prices.seed[model] = prices.resolved[model] = new
    if moved:
        marks = ",".join("?" * len(moved))
        for agent, sid in conn.execute(
            f"SELECT DISTINCT agent, session_id FROM slots WHERE model IN ({marks})", tuple(moved)
        ).fetchall():
            store._session(agent, sid)
            changed.add((agent, sid))
        store.force_dirty(moved)
    return moved


def write_prices(conn: sqlite3.Connection, prices: _Prices, models: set[str]) -> None:
    """Store the price of every model this run resolved, and of ``models``."""
    todo = {m: prices.seed[m] for m in set(prices.resolved) | models if m in prices.seed}
    conn.executemany(
        "INSERT OR REPLACE INTO prices (model, price) VALUES (?, ?)",
        [(m, codec.dumps(p) if p is not None else None) for m, p in todo.items()],
    )
    db.set_meta(conn, {"pricing_code": pricing_code_hash()})
