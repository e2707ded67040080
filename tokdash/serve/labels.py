"""The ``[metrics]`` table of the config file, and what every label value may say.

Labels are bounded on purpose: ``machine``, ``agent``, ``project`` and ``model``
(plus ``kind`` and ``status``, fixed sets). A session id or a title is never a
label: one series per session would grow without end and would put prompts'
words on the network.

Config (``config.toml``, see :func:`tokdash.model.config.default_config_path`)::

    [metrics]
    machine = "build-box-3"   # default: this machine's hostname (--machine wins)
    projects = "name"         # "name": the project folder's last component (default)
                              # "hash": a 12-hex pseudonym of that name
                              # "drop": no project at all (the label is empty)
    hash_salt = "team-secret" # mixed into "hash"; without it a guessable name can be
                              # confirmed by hashing it

Every value goes through :func:`tokdash.format.clean` (one line, no control or
format characters, bounded length) before it becomes a label.
"""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass
from pathlib import Path

from tokdash.format import clean
from tokdash.model.config import ConfigError, one_line, read_config

PROJECT_MODES = ("name", "hash", "drop")
"""How the ``project`` label is written."""
LABEL_LIMIT = 120
"""Characters of one label value at most (a model id, a project name, a machine name)."""
HASH_HEX = 12
"""Hex digits of a hashed project name: enough to tell a fleet's projects apart."""
_KEYS = ("machine", "projects", "hash_salt")


class MetricsConfigError(ConfigError):
    """The ``[metrics]`` table of the config file is wrong (one line, naming the file)."""


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The ``[metrics]`` settings, defaults filled in."""

    machine: str | None = None
    """The ``machine`` label; None: this machine's hostname."""
    projects: str = "name"
    """One of :data:`PROJECT_MODES`."""
    hash_salt: str = ""
    """Mixed into hashed project names."""


def read_metrics_config(path: Path | None) -> MetricsConfig:
    """The ``[metrics]`` table of the config file at ``path`` (None or missing: defaults).

    Raises :class:`MetricsConfigError` with a one-line message naming the file.
    """
    if path is None:
        return MetricsConfig()
    data = read_config(path, MetricsConfigError)
    table = data.get("metrics", {})
    if not isinstance(table, dict):
        raise MetricsConfigError(f"{path}: [metrics] must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise MetricsConfigError(one_line(f"{path}: [metrics]: unknown key {unknown[0]!r} "
                                          f"(allowed: {', '.join(_KEYS)})"))
    for key in _KEYS:
        if key in table and not isinstance(table[key], str):
            raise MetricsConfigError(one_line(f"{path}: [metrics]: {key} must be a string, got {table[key]!r}"))
    projects = table.get("projects", "name")
    if projects not in PROJECT_MODES:
        raise MetricsConfigError(one_line(f"{path}: [metrics]: projects must be one of "
                                          f"{', '.join(PROJECT_MODES)}, got {projects!r}"))
    machine = table.get("machine")
    if machine is not None and not clean(machine, LABEL_LIMIT):
        raise MetricsConfigError(f"{path}: [metrics]: machine must not be empty")
    return MetricsConfig(machine=machine, projects=projects, hash_salt=table.get("hash_salt", ""))


def machine_name(flag: str | None, config: MetricsConfig) -> str:
    """The ``machine`` label: ``--machine``, else the config's, else the hostname."""
    for given in (flag, config.machine):
        if given is not None and clean(given, LABEL_LIMIT):
            return clean(given, LABEL_LIMIT)
    return clean(socket.gethostname(), LABEL_LIMIT) or "unknown"


class LabelPolicy:
    """Turns a session's untrusted strings into label values, by the config's rules."""

    def __init__(self, config: MetricsConfig | None = None) -> None:
        self.config = config or MetricsConfig()
        self._projects: dict[str, str] = {}

    def project(self, name: str) -> str:
        """The ``project`` label of a project name (its folder's last component)."""
        hit = self._projects.get(name)
        if hit is None:
            hit = self._projects[name] = self._project(name)
        return hit

    def _project(self, name: str) -> str:
        mode = self.config.projects
        if mode == "drop":
            return ""
        shown = clean(name, LABEL_LIMIT)
        if mode == "hash":
            # Hash the cleaned name: the same folder name gives the same pseudonym on every
            # machine of a team (with the same salt), whatever its full path.
            digest = hashlib.sha256(f"{self.config.hash_salt}\0{shown}".encode()).hexdigest()
            return digest[:HASH_HEX]
        return shown

    @staticmethod
    def model(model: str | None) -> str:
        """The ``model`` label of a model id as the transcript wrote it."""
        return clean(model, LABEL_LIMIT)

    @staticmethod
    def agent(agent: str) -> str:
        """The ``agent`` label (a registry name; cleaned all the same)."""
        return clean(agent, LABEL_LIMIT)
