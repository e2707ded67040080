"""Prices for the status line's session states: each model's price as resolved, never the table twice.

A state keeps the ``ModelPrice`` (or None: unpriced) each of its models resolved to,
under a *price signature* (the day, the config file, the pricing code, the installed
table: see ``session_state.price_signature``). While the signature holds, pricing a new
call of a known model is a multiplication; only a model never seen loads the genai-prices
table (~0.15 s). :class:`SharedPrices` lets a new session's first render borrow what other
sessions resolved today under the same signature.
"""

from __future__ import annotations

import dataclasses
import marshal
from pathlib import Path

from tokdash.ingest.session_state import MARSHAL_VERSION


def price_table() -> str | None:
    """The genai-prices table's data module, found without importing it (its ``stat`` is part
    of the price signature)."""
    import importlib.util

    spec = importlib.util.find_spec("genai_prices")
    origin = spec.origin if spec is not None else None
    return str(Path(origin).parent / "data.py") if origin else None


class Prices:
    """Each model's price as stored; the real table (and the config's overrides) only for a
    model never priced before."""

    def __init__(self, config_path: Path | None, seed: dict) -> None:
        from tokdash.model.pricing import PriceBook

        self.config_path = config_path
        self.seed = seed
        """model -> ModelPrice or None (unpriced)."""
        self.resolved: set[str] = set()
        """Models this run priced from the table (not known before)."""
        self._real = None
        owner = self

        class SeededBook(PriceBook):
            """A PriceBook answering from the stored prices first."""

            def resolve(self, model: str):  # type: ignore[override]
                if model not in owner.seed:
                    owner.seed[model] = owner.real().resolve(model)
                    owner.resolved.add(model)
                return owner.seed[model]

        self._book = SeededBook({})

    def real(self):
        """The price table with the config's overrides (loaded on first need)."""
        if self._real is None:
            from tokdash.model.config import load_config_prices
            from tokdash.model.pricing import PriceBook

            self._real = PriceBook(load_config_prices(self.config_path) if self.config_path is not None else {})
        return self._real

    def pico(self, call) -> int | None:
        """One call's cost in pico-dollars; None when its model has no price."""
        cost = self._book.cost(call.model, call.usage, fast=call.fast)
        return None if cost is None else round(cost * 10**12) if cost else 0


class SharedPrices:
    """Prices resolved by any session's status line today (``<folder>/prices.bin``): a new
    session's first render prices its calls without loading the table when another session
    already met its models under the same price signature."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "prices.bin"
        self._known: tuple | None = None

    def read(self, sig: tuple) -> dict:
        """model -> price, for ``sig`` (empty when the file is older, missing or damaged)."""
        from tokdash.ingest import datafiles

        data = datafiles.read_bytes(self.path)
        try:
            obj = marshal.loads(data) if data else None
        except (ValueError, EOFError, TypeError):
            obj = None
        if not isinstance(obj, tuple) or len(obj) != 2 or obj[0] != sig or not isinstance(obj[1], dict):
            return {}
        self._known = obj
        try:
            return {m: dec_price(p) for m, p in obj[1].items()}
        except (TypeError, ValueError):
            return {}

    def write(self, sig: tuple, seed: dict) -> None:
        """Add the models of ``seed`` when the file lacks some (never raises)."""
        from tokdash.ingest import datafiles

        if self._known is None or self._known[0] != sig:
            self.read(sig)  # merge with what other sessions put there since
        have = self._known[1] if self._known is not None and self._known[0] == sig else {}
        if seed.keys() <= have.keys():
            return
        try:
            prices = {**have, **{m: enc_price(p) for m, p in seed.items()}}
            datafiles.write_atomic(self.path, marshal.dumps((sig, prices), MARSHAL_VERSION))
        except (OSError, ValueError):
            pass


def enc_price(p) -> tuple | None:
    """A ``ModelPrice`` (tiers included) as plain values; None stays None."""
    if p is None:
        return None
    return tuple(enc_price(v) if dataclasses.is_dataclass(v) else v
                 for v in (getattr(p, f.name) for f in dataclasses.fields(p)))


def dec_price(t: tuple | None):
    """The ``ModelPrice`` ``enc_price`` encoded."""
    if t is None:
        return None
    from tokdash.model.pricing import ModelPrice

    kw = dict(zip((f.name for f in dataclasses.fields(ModelPrice)), t, strict=True))
    kw["tier"] = dec_price(kw["tier"])
    return ModelPrice(**kw)
