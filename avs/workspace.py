"""The workspace file ``avs.toml``: which collection, model, index and qrels each year uses.

Looked up as ``./avs.toml`` (or ``$AVS_WORKSPACE``); paths in it are relative to the file.
Command-line flags always override it. Example (``make demo`` writes one)::

    [workspace]
    runs = "runs"          # where runs, submissions and reports go
    k = 1000               # ranked shots per topic
    device = "auto"        # auto | cpu | cuda
    scheduler = ""         # "" starts a LocalCluster; or "tcp://host:8786"

    [collections.V3C2]     # the collection a year's topics are scored against
    features = "collections/sim/shots.h5"
    model = "models/demo"
    index = "index/demo"

    [years.2022]           # optional per-year settings
    qrels = "collections/sim/qrels/2022.qrels"
    run_name = "sim-laff-2022"

    [team]                 # for `avs submit` without flags
    pid = "AVSDEMO"
    priority = 1
    tr_type = "D"
    class = "F"
    task = "M"
    novelty = "C"
    desc = "LAFF on simulated features"
    runs = ["runs/sim-laff-2022.parquet"]

Years map to collections by TRECVID's table (2016-2018 IACC.3, 2019-2021 V3C1, 2022 on
V3C2, progress topics V3C1); ``collection = "..."`` under ``[years.YEAR]`` overrides it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs.errors import FormatError, short
from avs.io.textfile import read_text
from avs.trecvid import PROGRESS, collection_for_year

WORKSPACE_FILE = "avs.toml"


@dataclass(frozen=True)
class Defaults:
    """``[workspace]``: settings every command falls back to."""

    k: int = 1000  # shots ranked per topic (NIST accepts at most 1000)
    device: str = "auto"  # auto | cpu | cuda
    scheduler: str = ""  # Dask scheduler address; "" starts a LocalCluster


@dataclass(frozen=True)
class YearConfig:
    """Everything a year's topics need, resolved to absolute paths (None = not configured)."""

    year: int | None  # None for the progress topics
    collection: str  # IACC.3, V3C1, V3C2 or a name of the user's
    features: Path | None  # feature store the index was built from
    model: Path | None  # models/NAME directory
    index: Path | None  # index/NAME directory
    qrels: Path | None  # NIST-style qrels for `avs eval`
    topics: Path | None  # the year's topic file
    run_name: str | None  # default run name for `avs score`
    shots: Path | None = None  # master shot list of the collection (`avs submit` checks ids)


@dataclass(frozen=True)
class TeamConfig:
    """``[team]``: the attributes `avs submit` writes into the run XML."""

    pid: str | None = None
    priority: int | None = None
    tr_type: str | None = None
    class_: str | None = None
    task: str | None = None
    novelty: str | None = None
    algo: str | None = None
    desc: str | None = None
    year: int | None = None
    runs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Workspace:
    """A parsed ``avs.toml`` (or the built-in defaults when there is none)."""

    path: Path | None  # the file, or None when running on defaults
    root: Path  # directory relative paths are resolved against
    runs_dir: Path
    defaults: Defaults
    collections: dict[str, dict[str, Path]]
    years: dict[str, dict[str, Any]]
    team: TeamConfig

    def year_config(self, year: int | None) -> YearConfig:
        """Resolve the settings for ``year`` (``None``: progress topics)."""
        key = PROGRESS if year is None else str(year)
        per_year = self.years.get(key, {})
        name = per_year.get("collection") or collection_for_year(year)
        coll = self.collections.get(name, {})

        def pick(key_: str) -> Path | None:
            value = per_year.get(key_, coll.get(key_))
            return None if value is None else self._resolve(value)

        return YearConfig(
            year=year,
            collection=name,
            features=pick("features"),
            model=pick("model"),
            index=pick("index"),
            qrels=pick("qrels"),
            topics=pick("topics"),
            run_name=per_year.get("run_name"),
            shots=pick("shots"),
        )

    def _resolve(self, value: str | Path) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.root / p)


_SECTIONS = {"workspace", "collections", "years", "team"}
_WS_KEYS = {"runs", "k", "device", "scheduler"}
_COLL_KEYS = {"features", "model", "index", "qrels", "shots"}
_YEAR_KEYS = {"collection", "features", "model", "index", "qrels", "topics", "run_name"}
_TEAM_KEYS = {
    "pid",
    "priority",
    "tr_type",
    "class",
    "task",
    "novelty",
    "algo",
    "desc",
    "year",
    "runs",
}


#: Largest avs.toml read (a real one is a few KB).
MAX_WORKSPACE_BYTES = 1 << 20


def find_workspace(start: Path | None = None) -> Path | None:
    """``$AVS_WORKSPACE`` if set, else ``avs.toml`` in ``start`` (default: cwd)."""
    env = os.environ.get("AVS_WORKSPACE")
    if env:
        return Path(env)
    candidate = (start or Path.cwd()) / WORKSPACE_FILE
    return candidate if candidate.is_file() else None


def load_workspace(path: str | Path | None = None) -> Workspace:
    """Parse ``path`` (or the file :func:`find_workspace` finds); defaults when none exists.

    Unknown sections or keys are errors naming the field, so a typo never silently
    falls back to a default."""
    path = Path(path) if path is not None else find_workspace()
    if path is None:
        root = Path.cwd()
        return Workspace(None, root, root / "runs", Defaults(), {}, {}, TeamConfig())
    if not path.exists() and not path.is_symlink():
        raise FormatError(path, "workspace file not found")
    # read_text: a regular file only (never a FIFO), bounded, BOM dropped.
    text = read_text(path, "workspace", MAX_WORKSPACE_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise FormatError(path, f"not valid TOML: {err}") from None
    except RecursionError:  # tables or arrays nested thousands deep
        raise FormatError(path, "not valid TOML: nested too deeply") from None
    _check_keys(path, data, _SECTIONS, "")
    root = path.resolve().parent
    ws = _table(path, data, "workspace")
    _check_keys(path, ws, _WS_KEYS, "workspace.")
    defaults = Defaults(
        k=_typed(path, ws, "k", int, "workspace.", Defaults.k),
        device=_typed(path, ws, "device", str, "workspace.", Defaults.device),
        scheduler=_typed(path, ws, "scheduler", str, "workspace.", Defaults.scheduler),
    )
    if defaults.k < 1:
        raise FormatError(path, "k must be at least 1", field="workspace.k")
    runs = Path(_typed(path, ws, "runs", str, "workspace.", "runs"))
    collections: dict[str, dict[str, Path]] = {}
    for name, coll in _table(path, data, "collections").items():
        coll = _table(path, {name: coll}, name, f"collections.{name}")
        _check_keys(path, coll, _COLL_KEYS, f"collections.{name}.")
        collections[name] = {k: _typed(path, coll, k, str, f"collections.{name}.") for k in coll}
    years: dict[str, dict[str, Any]] = {}
    for key, year in _table(path, data, "years").items():
        if key != PROGRESS and not key.isdigit():
            raise FormatError(path, "year must be a number or 'progress'", field=f"years.{key}")
        year = _table(path, {key: year}, key, f"years.{key}")
        _check_keys(path, year, _YEAR_KEYS, f"years.{key}.")
        years[key] = {k: _typed(path, year, k, str, f"years.{key}.") for k in year}
    team = _team(path, _table(path, data, "team"), root)
    return Workspace(
        path=path,
        root=root,
        runs_dir=runs if runs.is_absolute() else root / runs,
        defaults=defaults,
        collections=collections,
        years=years,
        team=team,
    )


def _team(path: Path, team: dict[str, Any], root: Path) -> TeamConfig:
    _check_keys(path, team, _TEAM_KEYS, "team.")
    strings = {
        k: _typed(path, team, k, str, "team.")
        for k in ("pid", "tr_type", "class", "task", "novelty", "algo", "desc")
    }
    runs = team.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
        raise FormatError(path, "must be a list of Parquet paths", field="team.runs")
    return TeamConfig(
        pid=strings["pid"],
        priority=_typed(path, team, "priority", int, "team."),
        tr_type=strings["tr_type"],
        class_=strings["class"],
        task=strings["task"],
        novelty=strings["novelty"],
        algo=strings["algo"],
        desc=strings["desc"],
        year=_typed(path, team, "year", int, "team."),
        runs=[Path(r) if Path(r).is_absolute() else root / r for r in runs],
    )


def _table(path: Path, data: dict[str, Any], key: str, label: str | None = None) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise FormatError(path, "must be a table", field=label or key)
    return value


def _quoted(value: Any) -> str:
    return short(value) if isinstance(value, str) else repr(value)[:60]


def _typed(path: Path, table: dict, key: str, kind: type, prefix: str, default: Any = None):
    if key not in table:
        return default
    value = table[key]
    # bool is an int in Python; `k = true` is still a mistake.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(
            path, f"must be {kind.__name__}, got {_quoted(value)}", field=prefix + key
        )
    return value


def _check_keys(path: Path, table: dict, allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise FormatError(
            path,
            f"unknown key (allowed: {', '.join(sorted(allowed))})",
            field=prefix + unknown[0],
        )
