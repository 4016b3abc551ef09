"""Our ranked-list format: one Parquet file per run, readable by pandas/duckdb/pyarrow.

Columns: ``topic`` int32 (AVS topic number), ``rank`` int32 (1..k), ``shot_id`` string,
``score`` float32. Run metadata is JSON under the schema metadata key ``avs``
(see docs/design.md). Ranks follow :func:`avs.ties.tie_order`: score descending, then shot id
descending as a string, the order NIST's sample_eval.pl uses, so Parquet ranks, XML
seqNums and ``avs eval`` always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import FormatError
from avs.io.atomic import atomic_path
from avs.io.textfile import check_regular

META_KEY = b"avs"
FORMAT = "avs-run"
VERSION = 1
COLUMNS = ("topic", "rank", "shot_id", "score")


@dataclass(frozen=True)
class Run:
    """A run read from Parquet; columns are numpy arrays in file order (topic, rank)."""

    name: str
    path: Path
    topic: np.ndarray
    rank: np.ndarray
    shot_id: np.ndarray
    score: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def topics(self) -> list[int]:
        """Distinct topic numbers, ascending."""
        return [int(t) for t in np.unique(self.topic)]

    @property
    def simulated(self) -> bool:
        """True when the run was scored on a simulated collection."""
        return bool(self.meta.get("simulated", False))

    def elapsed(self, topic: int) -> float | None:
        """Seconds recorded for ``topic``'s share of the work, if any."""
        value = self.meta.get("elapsed", {}).get(str(topic))
        return None if value is None else float(value)

    def ranking(self, topic: int) -> tuple[np.ndarray, np.ndarray]:
        """(shot ids, scores) of one topic in rank order."""
        sel = np.flatnonzero(self.topic == topic)
        sel = sel[np.argsort(self.rank[sel], kind="stable")]
        return self.shot_id[sel], self.score[sel]


def write_run(
    path: str | Path,
    topic: np.ndarray,
    rank: np.ndarray,
    shot_id: np.ndarray,
    score: np.ndarray,
    meta: dict[str, Any],
    *,
    score_dtype: type = np.float32,
) -> Path:
    """Write a run atomically; ``meta`` is stored as JSON under schema metadata ``avs``.

    ``score_dtype=np.float64`` keeps scores that float32 cannot hold exactly (a TREC run
    converted by ``avs convert``); readers widen either to float64."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "topic": pa.array(np.asarray(topic, dtype=np.int32)),
            "rank": pa.array(np.asarray(rank, dtype=np.int32)),
            "shot_id": pa.array(np.asarray(shot_id, dtype=object).astype(str), type=pa.string()),
            "score": pa.array(np.asarray(score, dtype=score_dtype)),
        }
    )
    full_meta = {"format": FORMAT, "version": VERSION, **meta}
    table = table.replace_schema_metadata({META_KEY: json.dumps(full_meta, sort_keys=True)})
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_run(path: str | Path) -> Run:
    """Read a run written by :func:`write_run` (or any Parquet with the same columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise FormatError(path, "no such file")
    check_regular(path, "run")  # pyarrow would block on a FIFO
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise FormatError(path, "no such file") from None
    except (pa.ArrowException, OSError) as err:
        raise FormatError(path, f"not a readable Parquet file ({err})") from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise FormatError(path, f"not an avs run: missing column(s) {', '.join(missing)}")
    raw = (table.schema.metadata or {}).get(META_KEY)
    try:
        meta = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        raise FormatError(path, "run metadata is not valid JSON", field="avs") from None
    if not isinstance(meta, dict):
        raise FormatError(path, "run metadata must be a JSON object", field="avs")
    _check_meta(path, meta)
    nulls = [c for c in COLUMNS if table[c].null_count]
    if nulls:
        # to_numpy would turn a null topic into a garbage integer, a null shot into None
        raise FormatError(path, f"null values in column(s) {', '.join(nulls)}")
    try:
        columns = {
            "topic": table["topic"].to_numpy().astype(np.int64),
            "rank": table["rank"].to_numpy().astype(np.int64),
            "shot_id": np.asarray(table["shot_id"].to_pylist(), dtype=object),
            "score": table["score"].to_numpy().astype(np.float64),
        }
    except (pa.ArrowException, TypeError, ValueError) as err:
        raise FormatError(path, f"column has the wrong type or nulls ({err})") from None
    if np.isnan(columns["score"]).any():
        raise FormatError(path, "NaN score", field="score")
    name = str(meta.get("run_name") or path.name.removesuffix(".parquet"))
    return Run(name=name, path=path, meta=meta, **columns)


def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    """FormatError for metadata that readers would trip over (``Run.elapsed``, year)."""
    elapsed = meta.get("elapsed", {})
    if not isinstance(elapsed, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in elapsed.values()
    ):
        raise FormatError(path, "run metadata 'elapsed' must map topics to seconds", field="avs")
    year = meta.get("year")
    is_int = isinstance(year, int) and not isinstance(year, bool)
    is_text = isinstance(year, str) and year.isascii() and year.isdigit() and len(year) <= 4
    if year is not None and not (is_int or is_text):
        raise FormatError(
            path, f"run metadata 'year' must be a year, got {year!r:.40}", field="avs"
        )
