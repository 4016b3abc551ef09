"""Issue #16, hangs, unbounded reads and tracebacks on damaged files, through the real
CLI: a FIFO or device in place of any input, a damaged index manifest or shard, a
hostile avs.toml, hostile numbers and markup; each one `Error:` line naming the file or
field (or, for markup, a correct table), no traceback, no hang, nothing replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import avs_env, run_avs
from tests.support.files import QRELS_2021, make_run
from tests.support.hostile import Tiny, fails_cleanly, fifo, make_tiny


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    return make_tiny(tmp_path_factory.mktemp("tiny"))


def test_fifos_and_devices_are_refused_not_waited_on(tiny: Tiny, tmp_path: Path) -> None:
    for name, why in (
        ("ids.txt", "FIFO"),
        ("manifest.json", "FIFO"),
        ("shard-00002.npy", "missing"),
    ):
        idx = tiny.copy_index(f"fifo-{name}")
        fifo(idx / name)
        fails_cleanly(tiny.score_args(idx), tmp_path, name, why)
    fails_cleanly(tiny.score_args(**{"--topics": "/dev/zero"}), tmp_path, "/dev/zero")
    fails_cleanly(
        ["eval", "--qrels", fifo(tmp_path / "q"), tmp_path / "r.parquet"], tmp_path, "FIFO"
    )
    run_fifo = fifo(tmp_path / "run.trec")  # a FIFO in place of a run: every reader of runs
    for args in (["fuse", run_fifo, run_fifo, "--out", tmp_path / "f.parquet"],
                 ["convert", run_fifo, tmp_path / "c.parquet"],
                 ["submit", run_fifo, "--pid", "T", "--priority", "1", "--dry-run"]):  # fmt: skip
        fails_cleanly(args, tmp_path, "run.trec", "FIFO")
    ws = fifo(tmp_path / "avs.toml")
    env = {**avs_env(), "AVS_WORKSPACE": str(ws)}
    fails_cleanly(tiny.score_args(), tmp_path, "avs.toml", "FIFO", env=env)


def test_fifos_in_model_and_bigfile(tiny: Tiny, tmp_path: Path) -> None:
    import shutil

    from tests.support.files import write_bigfile

    model = Path(shutil.copytree(tiny.model, tmp_path / "model"))
    fifo(model / "config.json")
    fails_cleanly(tiny.score_args(**{"--model": model}), tmp_path, "config.json", "FIFO")
    for name in ("shape.txt", "id.txt"):
        bf = tmp_path / f"bf-{name}"
        write_bigfile(bf, ["a", "b", "c"], 4, seed=0)
        fifo(bf / name)
        fails_cleanly(["features", "info", bf], tmp_path, name)


def test_damaged_index_is_one_error(tiny: Tiny, tmp_path: Path) -> None:
    def manifest(name: str, edit) -> Path:  # noqa: ANN001
        idx = tiny.copy_index(name)
        m = json.loads((idx / "manifest.json").read_text())
        edit(m)
        (idx / "manifest.json").write_text(json.dumps(m))
        return idx

    cases = [
        (manifest("no-shards", lambda m: m.pop("shards")), "'shards'"),
        (manifest("n-str", lambda m: m.update(n="503")), "'n'"),
        (manifest("shard-int", lambda m: m["shards"].__setitem__(0, 7)), "shards[0]"),
    ]
    idx = tiny.copy_index("latin1")
    (idx / "ids.txt").write_bytes(b"caf\xe9\n" * 503)
    cases.append((idx, "ids.txt"))
    idx = tiny.copy_index("ids-dir")
    (idx / "ids.txt").unlink()
    (idx / "ids.txt").mkdir()
    cases.append((idx, "ids.txt"))
    idx = tiny.copy_index("empty-npy")
    (idx / "shard-00001.npy").write_bytes(b"")
    cases.append((idx, "shard-00001.npy"))
    for idx, needle in cases:
        fails_cleanly(tiny.score_args(idx), tmp_path, needle, untouched=[idx])


def test_workspace_nested_and_bom(tiny: Tiny, tmp_path: Path) -> None:
    ws = tmp_path / "avs.toml"
    ws.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    env = {**avs_env(), "AVS_WORKSPACE": str(ws)}
    fails_cleanly(tiny.score_args(), tmp_path, "avs.toml", "nested", env=env)
    ws.write_bytes(b"\xef\xbb\xbf[workspace]\nk = 0\n")  # BOM dropped; k = 0 then refused
    fails_cleanly(tiny.score_args(), tmp_path, "workspace.k", env=env)


@pytest.mark.parametrize("address", ["tcp://", "127.0.0.1", "http://x"])
def test_malformed_scheduler_names_the_option(tiny: Tiny, tmp_path: Path, address: str) -> None:
    fails_cleanly(tiny.score_args(**{"--scheduler": address}), tmp_path, "--scheduler", address)
    assert not (tiny.root / "runs" / "tiny.parquet").exists()


def test_scheduler_without_workers_is_one_error(tiny: Tiny, tmp_path: Path) -> None:
    """A reachable `dask scheduler` that no worker ever joins: one error after
    $AVS_WORKER_WAIT_S (a bad value of which is one error too), no run written."""
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dask = Path(sys.executable).parent / "dask"
    sched = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"tcp://127.0.0.1:{port}"
    try:
        args = tiny.score_args(**{"--scheduler": address})
        fails_cleanly(
            args, tmp_path, "AVS_WORKER_WAIT_S", env={**avs_env(), "AVS_WORKER_WAIT_S": "-1"}
        )
        err = fails_cleanly(
            args,
            tmp_path,
            "--scheduler",
            "no Dask worker joined within 2 s",
            env={**avs_env(), "AVS_WORKER_WAIT_S": "2"},
        )
        assert "dask worker" in err
    finally:
        sched.kill()
        sched.wait()
    assert not (tiny.root / "runs" / "tiny.parquet").exists()


def test_qrels_numbers_with_thousands_of_digits(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r.parquet", [661], 10, year=2021)
    for field, line in (
        ("stratum", "1661 0 shot00001_1 {} 1\n"),
        ("topic", "{} 0 shot00001_1 1 1\n"),
    ):
        q = tmp_path / f"{field}.qrels"
        q.write_text(QRELS_2021.read_text() + line.format("9" * 5000))
        fails_cleanly(["eval", "--qrels", q, run], tmp_path, str(q), field)


def test_markup_and_escapes_in_names_are_printed_as_text(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    name = "[/bold]evil\x1b[31m[red]"
    run = make_run(tmp_path / "r.parquet", list(range(661, 681)), 20, year=2021)
    table = pq.read_table(run)
    meta = json.loads(table.schema.metadata[b"avs"])
    meta.update(run_name=name, simulated=False)
    pq.write_table(table.replace_schema_metadata({b"avs": json.dumps(meta)}), run)
    for args in (
        ["eval", "--qrels", QRELS_2021, run],
        ["report", run, "--qrels", f"2021={QRELS_2021}", "--out", tmp_path / "rep.html"],
    ):
        proc = run_avs(args, tmp_path, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "\x1b" not in proc.stdout
        assert "[/bold]evil" in proc.stdout, proc.stdout


def test_a_100k_character_value_is_quoted_short(tiny: Tiny, tmp_path: Path) -> None:
    """Ids, texts and fields of 100,000 characters: the one Error line stays readable."""
    huge = "x" * 100_000
    ws = tmp_path / "avs.toml"
    ws.write_text(f'[workspace]\nk = "{huge}"\n')
    env = {**avs_env(), "AVS_WORKSPACE": str(ws)}
    errs = [fails_cleanly(tiny.score_args(), tmp_path, "workspace.k", env=env)]
    tmp_path = tmp_path / "elsewhere"  # away from that avs.toml
    tmp_path.mkdir()
    topics = tmp_path / "2022.txt"
    topics.write_text(f"731 {huge}\n")  # only words the model has never seen
    errs.append(fails_cleanly(tiny.score_args(**{"--topics": topics}), tmp_path, "731"))
    errs.append(
        fails_cleanly(
            [
                "fuse",
                f"{make_run(tmp_path / 'r.parquet', [661], 5)}#{huge}",
                tmp_path / "r.parquet",
                "--out",
                tmp_path / "f.parquet",
            ],
            tmp_path,
            "too long",
        )  # fmt: skip
    )
    errs.append(fails_cleanly(["eval", "--qrels", QRELS_2021, "--k", huge], tmp_path, "--k"))
    for err in errs:
        assert len(err) < 2_000, err[:300]


def test_bounded_keeps_both_ends() -> None:
    from avs.errors import bounded

    text = "start " + "y" * 10_000 + " the end"
    cut = bounded(f"first line\n{text}")
    assert cut.startswith("first line\nstart ") and cut.endswith(" the end")
    assert "[... " in cut and len(cut) < 500
    assert bounded("short enough") == "short enough"
