"""``avs submit`` as library calls: :func:`submit` (runs of any kind ``avs eval`` reads
-> validated XML) and :func:`check` (validate any submission XML).

Nothing is written unless the rendered file passes every check; the file is written
atomically, so a crash never leaves half a submission under the final name. Runs that
record no per-topic time (TREC files, fused runs) take ``elapsed``; a master shot list
(``shots``, or ``[collections.X] shots`` in avs.toml) makes every shot id outside the
collection a problem, as NIST's checker reports ids missing from its valid-shot table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from avs.errors import AvsError, FormatErrors
from avs.submit.render import RunResult, TopicResult, render_xml, xml_safe
from avs.submit.runid import check_pid, file_stem, run_id
from avs.submit.topicfiles import default_topics_file
from avs.submit.validate import MAX_ITEMS, CheckReport, validate_xml
from avs.submit.years import YearRules, rules_for_year

# Allowed values, as in our DTDs (templates/dtd/); listed here to name the option at fault.
TR_TYPES = ("A", "D", "E", "F")
TASKS = ("M", "P")
NOVELTIES = ("N", "C")
ALGOS = ("C", "V")
MAX_PRIORITY = 10
SHOWN_SHOTS = 50  # unknown shot ids listed per run before counting the rest


@dataclass(frozen=True)
class SubmitSettings:
    """What to submit and the attributes to write. None / empty means "not given"."""

    runs: tuple[Path | str, ...] = ()  # runs of any kind (FILE.xml#RUNID), one XML run each
    pid: str | None = None  # team id
    priorities: tuple[int, ...] = ()  # one per run, or one N meaning N, N+1, ...
    tr_type: str | None = None  # A, D, E or F
    class_: str | None = None  # F, M or R (R from 2018)
    task: str | None = None  # M or P (2019 on)
    novelty: str | None = None  # N or C (2019 on)
    algo: str | None = None  # C or V (2023 on)
    descs: tuple[str, ...] = ()  # one for all runs, or one per run
    year: int | None = None  # default: the runs' "year" metadata, then [team] year
    topics: Path | None = None  # topic file to check against; default: the year's
    out: Path | None = None  # default: <runs dir>/<run id>.xml
    elapsed: float | dict[int, float] | None = None  # seconds per topic for runs recording none
    shots: Path | None = None  # master shot list; default: the year's collection's in avs.toml


@dataclass(frozen=True)
class RunSummary:
    """One run of a submission, for the summary `avs submit` prints."""

    run_id: str  # NIST run id
    priority: int
    source: Path | str  # the run it came from
    topics: list[tuple[int, int, int]]  # (tNum, items, elapsedTime) per topic

    @property
    def items(self) -> int:
        """Items over all topics."""
        return sum(n for _, n, _ in self.topics)

    @property
    def elapsed(self) -> int:
        """Total elapsedTime in seconds."""
        return sum(e for _, _, e in self.topics)


@dataclass(frozen=True)
class SubmitResult:
    """What :func:`submit` produced."""

    path: Path  # the file written (or that would be written on a dry run)
    written: bool  # False on a dry run
    year: int
    runs: list[RunSummary]
    topics_files: list[str]  # topic files the runs were checked against
    notes: list[str] = field(default_factory=list)  # warnings that did not stop the run


def settings_from_workspace(workspace, given: SubmitSettings) -> SubmitSettings:
    """``given`` with every unset field filled from the workspace's ``[team]`` section."""
    team = workspace.team
    return replace(
        given,
        runs=given.runs or tuple(Path(p) for p in team.runs),
        pid=given.pid if given.pid is not None else team.pid,
        priorities=given.priorities or ((team.priority,) if team.priority is not None else ()),
        tr_type=given.tr_type if given.tr_type is not None else team.tr_type,
        class_=given.class_ if given.class_ is not None else team.class_,
        task=given.task if given.task is not None else team.task,
        novelty=given.novelty if given.novelty is not None else team.novelty,
        algo=given.algo if given.algo is not None else team.algo,
        descs=given.descs or ((team.desc,) if team.desc is not None else ()),
        year=given.year if given.year is not None else team.year,
    )


def _load_workspace(workspace):
    if workspace is not None:
        return workspace
    from avs.workspace import load_workspace

    return load_workspace()


def _per_run(values: tuple, n: int, name: str, problems: list[str], consecutive: bool) -> list:
    """One value per run: ``values`` as given, or one value spread over all runs."""
    if len(values) == n:
        return list(values)
    if len(values) == 1:
        if consecutive:  # --priority 3 with three runs: 3, 4, 5
            return [values[0] + i for i in range(n)]
        return list(values) * n
    problems.append(f"{len(values)} {name} value(s) for {n} run(s): give one, or one per run")
    return []


def _choice(value: str | None, allowed: Sequence[str], option: str, problems: list[str]) -> None:
    if value is None:
        problems.append(f"{option} is required (one of {', '.join(allowed)}); or set it in [team]")
    elif value not in allowed:
        problems.append(f"{option} must be one of {', '.join(allowed)}, got {value!r}")


def _check_attributes(s: SubmitSettings, rules: YearRules, problems: list[str]) -> None:
    if s.pid is None:
        problems.append("--pid is required (your team id); or set pid in [team]")
    elif (why := check_pid(s.pid)) is not None:
        problems.append(f"--pid: {why}")
    _choice(s.tr_type, TR_TYPES, "--tr-type", problems)
    classes = ("F", "M", "R") if rules.year >= 2018 else ("F", "M")
    _choice(s.class_, classes, "--class", problems)
    for attr, option, value, allowed in (
        ("task", "--task", s.task, TASKS),
        ("novelty", "--novelty", s.novelty, NOVELTIES),
        ("algo", "--algo", s.algo, ALGOS),
    ):
        if rules.has(attr):
            _choice(value, allowed, option, problems)
        elif value is not None:
            problems.append(f"{option} does not exist in {rules.year} run files; leave it out")
    if not s.descs:
        problems.append(
            "--desc is required (a short description of the run); or set desc in [team]"
        )


def _read_runs(paths: tuple[Path | str, ...], problems: list[str]) -> list:
    from avs.submit.convert import read_any_run

    runs = []
    for path in paths:
        try:
            runs.append(read_any_run(path))
        except AvsError as err:
            problems.append(str(err))
    return runs


def _pick_year(given: int | None, runs: list, problems: list[str]) -> int | None:
    if given is not None:
        return given
    years = {int(r.meta["year"]) for r in runs if str(r.meta.get("year", "")).isdigit()}
    if len(years) == 1:
        return years.pop()
    if len(years) > 1:
        problems.append(f"the runs are from different years ({sorted(years)}); pass --year")
    else:
        problems.append("no year in the runs' metadata; pass --year (or set year in [team])")
    return None


def _elapsed_for(given: float | dict[int, float] | None, number: int) -> float | None:
    if isinstance(given, dict):
        return given.get(number)
    return given


def _topics_of(
    run, problems: list[str], notes: list[str], given: float | dict[int, float] | None = None
) -> list[TopicResult]:
    """The run's ranking per topic, cut at 1000, with whole-second elapsed times (from
    the run, else from ``given``: one value for all topics or one per topic)."""
    topics = []
    untimed: list[int] = []
    for number in run.topics:
        shots, _ = run.ranking(number)
        if len(shots) > MAX_ITEMS:
            notes.append(
                f"{run.path}: topic {number} has {len(shots)} shots; submitting the top {MAX_ITEMS}"
            )
            shots = shots[:MAX_ITEMS]
        seconds = run.elapsed(number)
        if seconds is None:
            seconds = _elapsed_for(given, number)
        if seconds is None:
            untimed.append(number)
            continue
        if not math.isfinite(seconds) or seconds < 0:
            problems.append(f"{run.path}: elapsed time {seconds!r} for topic {number} is not valid")
            continue
        # NIST wants whole seconds; round up so no run claims less time than it took.
        elapsed = max(1, math.ceil(seconds))
        topics.append(TopicResult(number, elapsed, [str(s) for s in shots]))
    if untimed:
        listed = ", ".join(map(str, untimed[:10]))
        if len(untimed) > 10:
            listed += f", ... ({len(untimed)} topics)"
        why = (
            "--elapsed names no time for them"
            if given is not None
            else "pass --elapsed SECONDS (one value for every topic, or TOPIC=SECONDS,...)"
        )
        problems.append(
            f"{run.path}: no elapsed time recorded for topic{'s' if len(untimed) > 1 else ''} "
            f"{listed}; "
            f"TREC runs and fused runs record none: {why}"
        )
    return topics


def _attributes(s: SubmitSettings, rules: YearRules, priority: int, desc: str) -> list:
    values = {
        "trType": s.tr_type,
        "class": s.class_,
        "task": s.task,
        "novelty": s.novelty,
        "algo": s.algo,
        "pid": s.pid,
        "priority": str(priority),
        "desc": desc,
    }
    return [(name, values[name]) for name in rules.attributes]


def _plan(s: SubmitSettings) -> tuple[list, YearRules, list[int], list[str]]:
    """Read the runs and check every setting; FormatErrors listing all problems."""
    problems: list[str] = []
    if not s.runs:
        raise AvsError("no runs to submit: name run files or list them in [team] runs")
    runs = _read_runs(s.runs, problems)
    year = _pick_year(s.year, runs, problems)
    rules = None
    if year is not None:
        try:
            rules = rules_for_year(year)
        except AvsError as err:
            problems.append(str(err))
    if rules is not None:
        _check_attributes(s, rules, problems)
    n = len(s.runs)
    priorities: list[int] = []
    if not s.priorities:
        problems.append("--priority is required (1-10, unique per run); or set priority in [team]")
    else:
        priorities = _per_run(s.priorities, n, "--priority", problems, consecutive=True)
    descs = _per_run(s.descs, n, "--desc", problems, consecutive=False) if s.descs else []
    if any(not 1 <= p <= MAX_PRIORITY for p in priorities):
        problems.append(f"priorities must be 1-{MAX_PRIORITY}; the runs would get {priorities}")
    if len(set(priorities)) != len(priorities):
        problems.append(f"priorities must be unique, got {priorities}")
    if problems or rules is None:
        raise FormatErrors("avs submit", problems)
    return runs, rules, priorities, descs


def submit(settings: SubmitSettings, *, dry_run: bool = False, workspace=None) -> SubmitResult:
    """Render ``settings.runs`` into one submission file, validate it, then write it.

    Unset settings come from the workspace's ``[team]`` section. Every argument problem
    is reported at once (AvsError / FormatErrors); a file that fails validation is never
    written (FormatErrors listing every problem). ``dry_run`` does everything but write."""
    ws = _load_workspace(workspace)
    s = settings_from_workspace(ws, settings)
    runs, rules, priorities, descs = _plan(s)
    year = rules.year
    problems: list[str] = []
    notes: list[str] = [
        f"{run.path} says year {run.meta['year']}, submitting it as {year}"
        for run in runs
        if str(run.meta.get("year", year)) != str(year)
    ]
    results, summaries = [], []
    for run, priority, desc in zip(runs, priorities, descs, strict=True):
        clean, replaced = xml_safe(desc)
        if replaced:
            notes.append(f"desc of priority {priority}: {replaced} control character(s) replaced")
        if run.simulated:
            notes.append(f"{run.path} was scored on a simulated collection: not a real submission")
        topics = _topics_of(run, problems, notes, s.elapsed)
        results.append(RunResult(_attributes(s, rules, priority, clean), topics))
        rid = run_id(
            class_=s.class_, tr_type=s.tr_type, pid=s.pid, year=year, priority=priority,
            task=s.task if rules.has("task") else None,
            novelty=s.novelty if rules.has("novelty") else None,
        )  # fmt: skip
        per_topic = [(t.number, len(t.shots), t.elapsed) for t in topics]
        summaries.append(RunSummary(rid, priority, run.path, per_topic))
    if problems:
        raise FormatErrors("avs submit", problems)

    out = s.out
    if out is None:
        stem = file_stem([r.run_id for r in summaries], priorities)
        out = Path(ws.runs_dir) / f"{stem}.xml"
    data = render_xml(results, rules)

    def resolve(y: int, task: str | None) -> Path:
        return default_topics_file(y, task, ws)

    report = validate_xml(data, path=out, topics=s.topics, year=year, resolve_topics=resolve)
    shot_list = s.shots if s.shots is not None else ws.year_config(year).shots
    if shot_list is not None:
        report = _with_shot_check(report, data, shot_list)
    if not report.ok:
        raise FormatErrors(f"{out} (not written)", report.problems)
    if not dry_run:
        from avs.io.atomic import atomic_open

        with atomic_open(out, "wb") as fh:
            fh.write(data)
    return SubmitResult(out, not dry_run, year, summaries, report.topics_files, notes)


def check(
    path: str | Path,
    *,
    topics: str | Path | None = None,
    year: int | None = None,
    shots: str | Path | None = None,
    workspace=None,
) -> CheckReport:
    """Validate any submission XML file; ``report.problems`` lists every problem found.

    The topic file defaults to the one of the year the DOCTYPE names (main or progress
    topics by each run's task); ``year`` overrides the DOCTYPE's year. ``shots`` (default:
    the year's collection's ``shots`` in avs.toml) is the master shot list every shot id
    must be in."""
    from avs.io.xmlrun import read_bytes

    data = read_bytes(path)
    ws = None if topics is not None and shots is not None else _load_workspace(workspace)

    def resolve(y: int, task: str | None) -> Path:
        return default_topics_file(y, task, ws)

    report = validate_xml(data, path=path, topics=topics, year=year, resolve_topics=resolve)
    if shots is None and ws is not None and report.year is not None:
        shots = ws.year_config(report.year).shots
    if shots is not None:
        report = _with_shot_check(report, data, Path(shots))
    return report


def read_shot_list(path: str | Path) -> set[str]:
    """The shot ids of a collection: a text file with one id per line (first field;
    blank lines and '#' comments skipped, e.g. an index's ids.txt), an HDF5 feature
    store, or a directory holding ``shots.h5`` (a collection) or ``ids.txt`` (an index)."""
    from avs.errors import FormatError
    from avs.io.textfile import read_text

    path = Path(path)
    if path.is_dir():
        for name in ("shots.h5", "ids.txt"):
            if (path / name).is_file():
                return read_shot_list(path / name)
        raise AvsError(f"{path}: a directory without shots.h5 or ids.txt: not a shot list")
    if path.suffix in (".h5", ".hdf5"):
        from avs.io.features import FeatureStore

        with FeatureStore(path) as store:
            return set(store.ids)
    ids = set()
    for line in read_text(path, "shot list").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            ids.add(fields[0])
    if not ids:
        raise FormatError(path, "no shot ids in the shot list")
    return ids


def _with_shot_check(report: CheckReport, data: bytes, shots: Path) -> CheckReport:
    """``report`` plus one problem per run listing the shot ids not in ``shots``."""
    from avs.io.xmlrun import ITEM_TAG, RUN_TAG, parse_xml

    try:
        valid = read_shot_list(shots)
        root = parse_xml(data, report.path).getroot()
    except AvsError as err:
        return replace(report, problems=[*report.problems, f"--shots: {err}"])
    problems = list(report.problems)
    for index, run_el in enumerate(root.iter(RUN_TAG), start=1):
        unknown = sorted(
            {s for item in run_el.iter(ITEM_TAG) if (s := item.get("shotId")) not in valid} - {None}
        )
        if unknown:
            label = f"run {index} (line {run_el.sourceline}, priority {run_el.get('priority')!r})"
            shown = ", ".join(unknown[:SHOWN_SHOTS])
            if len(unknown) > SHOWN_SHOTS:
                shown += f", ... and {len(unknown) - SHOWN_SHOTS} more"
            problems.append(
                f"{label}: {len(unknown)} shot id(s) not in the collection's shot list "
                f"{shots}: {shown}"
            )
    return replace(report, problems=problems)
