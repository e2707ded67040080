"""tokdash's config file: where it lives, reading it safely, and the price overrides.

One TOML file (``config.toml``, see :func:`default_config_path`) holds every
setting: ``[prices."<model>"]`` overrides (here), ``[heavy]`` thresholds
(``tokdash.model.heavy``) and the other tables their owners read. A missing file
means defaults; anything wrong is a :class:`ConfigError` whose message is one
line naming the file, so a command can print it and the dashboard can show it.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
import sys

from tokdash.model.pricing import (
    CACHE_READ_FACTOR,
    CACHE_WRITE_1H_FACTOR,
    CACHE_WRITE_5M_FACTOR,
    ModelPrice,
)

__all__ = ["ConfigError", "PriceConfigError", "default_config_path", "load_config_prices", "read_config", "ui_theme",
           "write_setting"]


class ConfigError(ValueError):
    """The config file is unreadable or wrong; the message is one line naming the file."""


class PriceConfigError(ConfigError):
    """The ``[prices]`` tables of the config file are wrong."""


MAX_CONFIG_BYTES = 1 << 20
"""A config file is a few lines; anything over a megabyte is not one."""


def read_config_bytes(path: pathlib.Path, error: type[ConfigError] = ConfigError) -> bytes | None:
    """The config file's bytes; None when it does not exist. Raises ``error`` (one line) when
    it is no regular file (a FIFO would block the read forever, a folder cannot be read),
    cannot be read, or is implausibly large. Opened without blocking, checked with ``fstat``."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise error(one_line(f"{path}: cannot read: {exc.strerror or exc}")) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise error(one_line(f"{path}: cannot read: {what}"))
        if st.st_size > MAX_CONFIG_BYTES:
            raise error(one_line(f"{path}: cannot read: {st.st_size} bytes is too large for a config file"))
        chunks, total = [], 0
        while total <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_CONFIG_BYTES:
            raise error(one_line(f"{path}: cannot read: too large for a config file"))
        return b"".join(chunks)
    except OSError as exc:
        raise error(one_line(f"{path}: cannot read: {exc.strerror or exc}")) from exc
    finally:
        os.close(fd)


def read_config(path: pathlib.Path, error: type[ConfigError] = ConfigError) -> dict:
    """The whole config file as a dict; ``{}`` when it does not exist. Raises ``error``."""
    data = read_config_bytes(path, error)
    if data is None:
        return {}
    import tomllib  # here: without a config file, a command never loads the TOML parser

    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(one_line(f"{path}: invalid TOML: {exc}")) from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text") from exc


def one_line(message: str) -> str:
    """Put a message on one line (a model name or a parser message could hold a newline)."""
    return re.sub(r"\s*[\r\n]+\s*", " ", message)


MAX_RATE = 1_000_000.0
"""The largest price accepted: USD per million tokens (or per request), a thousand times the
dearest model there is. A price like ``1e308`` would make every cost infinite."""
MAX_MULTIPLIER = 1000.0
"""The largest ``fast_multiplier`` accepted."""

_REQUIRED_KEYS = ("input", "output")
_OPTIONAL_KEYS = ("cache_write_5m", "cache_write_1h", "cache_read", "web_search_per_request", "fast_multiplier")


def default_config_path() -> pathlib.Path:
    """Where tokdash's config file lives on this platform.

    Linux and other Unixes: ``$XDG_CONFIG_HOME/tokdash/config.toml`` (default
    ``~/.config``); macOS: ``~/Library/Application Support/tokdash/config.toml``;
    Windows: ``%APPDATA%\\tokdash\\config.toml``.
    """
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        base = pathlib.Path(appdata) if appdata else pathlib.Path.home() / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        base = pathlib.Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        # The XDG spec says a relative value is invalid and must be ignored.
        base = pathlib.Path(xdg) if xdg and os.path.isabs(xdg) else pathlib.Path.home() / ".config"
    return base / "tokdash" / "config.toml"


def load_config_prices(path: pathlib.Path) -> dict[str, ModelPrice]:
    """Price overrides from the ``[prices."<model>"]`` tables of a TOML config file.

    Rates are USD per million tokens (``input`` and ``output`` required;
    ``cache_read``, ``cache_write_5m`` and ``cache_write_1h`` default to 0.1×,
    1.25× and 2× input); ``web_search_per_request`` is USD per request and
    ``fast_multiplier`` a factor. A missing file means no overrides; anything
    wrong raises :class:`PriceConfigError`. Other top-level tables are left to
    whoever owns them.
    """
    data = read_config(path, PriceConfigError)

    prices = data.get("prices", {})
    if not isinstance(prices, dict):
        raise PriceConfigError(f"{path}: [prices] must be a table of models")
    out: dict[str, ModelPrice] = {}
    for model, fields in prices.items():
        where = f'{path}: [prices."{model}"]'
        if not isinstance(fields, dict):
            raise PriceConfigError(one_line(f"{where} must be a table, e.g. input = 1.0 and output = 2.0"))
        unknown = sorted(set(fields) - {*_REQUIRED_KEYS, *_OPTIONAL_KEYS})
        if unknown:
            allowed = ", ".join((*_REQUIRED_KEYS, *_OPTIONAL_KEYS))
            raise PriceConfigError(one_line(f"{where}: unknown key {unknown[0]!r} (allowed: {allowed})"))
        missing = [key for key in _REQUIRED_KEYS if key not in fields]
        if missing:
            raise PriceConfigError(one_line(f"{where}: missing {missing[0]!r}"))
        rates: dict[str, float] = {}
        for key, value in fields.items():
            top = MAX_MULTIPLIER if key == "fast_multiplier" else MAX_RATE
            # bool is an int subclass: `input = true` must not read as 1.0.
            if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                    or not 0 <= value <= top):
                raise PriceConfigError(one_line(f"{where}: {key} must be a number >= 0 and at most {top:g}, got {value!r}"))
            rates[key] = float(value)
        input_rate = rates["input"]
        out[model] = ModelPrice(
            model=model,
            input=input_rate,
            output=rates["output"],
            cache_write_5m=rates.get("cache_write_5m", CACHE_WRITE_5M_FACTOR * input_rate),
            cache_write_1h=rates.get("cache_write_1h", CACHE_WRITE_1H_FACTOR * input_rate),
            cache_read=rates.get("cache_read", CACHE_READ_FACTOR * input_rate),
            web_search_per_request=rates.get("web_search_per_request", 0.0),
            fast_multiplier=rates.get("fast_multiplier", 1.0),
            source="config",
        )
    return out


# --- writing one setting -------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def write_setting(path: pathlib.Path, table: str, key: str, value: str) -> None:
    """Set ``key = "value"`` in the ``[table]`` of the config file, keeping every other line
    (comments included) as it is; the file and its folder are created when missing.

    Only tokdash's own config file is ever written, and only for a setting the user chose
    (the theme picked in the dashboard). A file that does not parse is left alone
    (:class:`ConfigError`); the new text is checked to parse to the intended value before it
    replaces the old one, atomically.
    """
    import json

    read_config(path)  # raises on a broken file: never rewrite what cannot be read
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    lines = text.splitlines(keepends=True)
    line = f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
    start = next((i for i, ln in enumerate(lines) if (m := _TABLE.match(ln)) and m.group(1).strip() == table), None)
    if start is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += (["\n"] if lines else []) + [f"[{table}]\n", line]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
        at = next((i for i in range(start + 1, end) if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i])), None)
        if at is not None:
            lines[at] = line
        else:
            lines.insert(start + 1, line)
    new = "".join(lines)
    import tomllib

    try:
        parsed = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(one_line(f"{path}: cannot set {table}.{key}: {exc}")) from exc
    if parsed.get(table, {}).get(key) != value:
        raise ConfigError(f"{path}: cannot set {table}.{key} without rewriting the file; set it by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)


def ui_theme(path: pathlib.Path) -> str | None:
    """The theme chosen last in the dashboard (``[ui] theme``), or None."""
    try:
        ui = read_config(path).get("ui", {})
    except ConfigError:
        return None
    theme = ui.get("theme") if isinstance(ui, dict) else None
    return theme if isinstance(theme, str) and theme else None
