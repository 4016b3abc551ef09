"""`avs submit` from any run kind (TREC, fused Parquet, XML), `--elapsed`, `--shots`,
and `avs convert` between Parquet, TREC and XML (real subprocess CLI calls)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from avs.eval.api import evaluate_files
from avs.io.runs import read_run
from avs.io.trecrun import read_trec_run, write_trec_run

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "trecvid"
RUCMM = FIXTURES / "tv21.RUCMM.trec"
QRELS = FIXTURES / "avs.qrels.main.tv21"
TEAM = ["--pid", "TEAM", "--tr-type", "D", "--class", "F", "--task", "M", "--novelty", "C"]
TEAM += ["--priority", "1", "--desc", "d"]


def avs(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AVS_WORKSPACE"}
    return subprocess.run(
        [sys.executable, "-m", "avs", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


@pytest.fixture
def canonical(tmp_path: Path) -> Path:
    """The RUCMM run rewritten canonically (ranks in tie-rule order, repr scores)."""
    path = tmp_path / "rucmm.trec"
    write_trec_run(path, read_trec_run(RUCMM), "RUCMM")
    return path


def test_trec_to_parquet_to_trec_is_byte_identical(tmp_path: Path, canonical: Path) -> None:
    assert avs("convert", canonical, "r.parquet", cwd=tmp_path).returncode == 0
    proc = avs("convert", "r.parquet", "back.trec", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "back.trec").read_bytes() == canonical.read_bytes()
    assert read_run(tmp_path / "r.parquet").meta["trec_tag"] == "RUCMM"


def test_round_trip_keeps_scores_float32_cannot_hold(tmp_path: Path) -> None:
    src = tmp_path / "a.trec"
    src.write_text(
        "1661 0 shot00001_2 1 0.30000000000000004 X\n1661 0 shot00001_1 2 0.3 X\n",
        encoding="utf-8",
    )
    assert avs("convert", src, "a.parquet", cwd=tmp_path).returncode == 0
    assert avs("convert", "a.parquet", "b.trec", cwd=tmp_path).returncode == 0
    assert (tmp_path / "b.trec").read_bytes() == src.read_bytes()


def test_convert_states_what_it_cannot_keep(tmp_path: Path) -> None:
    from avs.fusion.fuse import fuse_files

    fuse_files([RUCMM], tmp_path / "f.parquet")
    proc = avs("convert", "f.parquet", "f.trec", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "TREC run files hold no metadata; not kept:" in proc.stderr
    assert "fusion" in proc.stderr and "inputs" in proc.stderr
    proc = avs("convert", "f.parquet", "f.trec", cwd=tmp_path)
    assert proc.returncode == 1 and "pass --overwrite" in proc.stderr
    proc = avs("convert", "f.parquet", "f.csv", cwd=tmp_path)
    assert proc.returncode == 1 and "cannot tell the format" in proc.stderr


def test_submit_from_a_trec_run_needs_elapsed(tmp_path: Path) -> None:
    proc = avs("submit", RUCMM, *TEAM, "--out", "s.xml", cwd=tmp_path)
    assert proc.returncode == 1
    assert "no elapsed time recorded for topics 661, 662" in proc.stderr
    assert "pass --elapsed SECONDS" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.xml").exists()
    proc = avs("submit", RUCMM, *TEAM, "--elapsed", "12", "--out", "s.xml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "20 topics, 20000 items, elapsed 240 s in all" in proc.stdout
    proc = avs("submit", "--check", "s.xml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the XML scores as the TREC run does
    xml, trec = evaluate_files(QRELS, [tmp_path / "s.xml", RUCMM])
    assert xml.evaluation.all["infAP"] == trec.evaluation.all["infAP"]


def test_elapsed_per_topic(tmp_path: Path) -> None:
    proc = avs("submit", RUCMM, *TEAM, "--elapsed", "661=3,662=4", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 1 and "no elapsed time recorded for topics 663" in proc.stderr
    assert "--elapsed names no time for them" in proc.stderr
    proc = avs("submit", RUCMM, *TEAM, "--elapsed", "abc", cwd=tmp_path)
    assert proc.returncode == 2 and "expected SECONDS" in proc.stderr


def test_submit_from_a_fused_run(tmp_path: Path) -> None:
    from avs.fusion.fuse import fuse_files

    other = tmp_path / "other.trec"
    records = read_trec_run(RUCMM)
    write_trec_run(other, [r._replace(score=-r.score if i % 3 else r.score)
                           for i, r in enumerate(records)], "O")  # fmt: skip
    fused = fuse_files([RUCMM, other], tmp_path / "fused.parquet", method="rrf").path
    proc = avs("submit", fused, *TEAM, "--out", "f.xml", cwd=tmp_path)
    assert proc.returncode == 1 and "pass --elapsed" in proc.stderr
    proc = avs("submit", fused, *TEAM, "--elapsed", "30.5", "--out", "f.xml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "elapsed 620 s in all" in proc.stdout  # ceil(30.5) per topic
    assert avs("submit", "--check", "f.xml", cwd=tmp_path).returncode == 0
    # and to XML through avs convert, the same validation
    proc = avs("convert", fused, "c.xml", *TEAM, "--elapsed", "31", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "c.xml").read_bytes() == (tmp_path / "f.xml").read_bytes()
    assert "XML holds ranks, not scores" in proc.stderr
    # XML back to TREC evaluates as the fused run
    proc = avs("convert", "c.xml", "c.trec", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    a, b = evaluate_files(QRELS, [fused, tmp_path / "c.trec"])
    assert a.evaluation.all["infAP"] == b.evaluation.all["infAP"]


def test_shots_list_reports_unknown_ids(tmp_path: Path) -> None:
    shots = sorted({r.shot for r in read_trec_run(RUCMM)})
    unknown = shots[:3]
    listing = tmp_path / "shots.txt"
    listing.write_text("# master shot list\n" + "\n".join(shots[3:]) + "\n", encoding="utf-8")
    proc = avs("submit", RUCMM, *TEAM, "--elapsed", "5", "--shots", listing, "--out", "s.xml",
               cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1
    assert f"3 shot id(s) not in the collection's shot list {listing}" in proc.stderr
    assert ", ".join(unknown) in proc.stderr
    assert not (tmp_path / "s.xml").exists()
    # the same file without --shots is written; --check --shots finds the same ids
    assert (
        avs("submit", RUCMM, *TEAM, "--elapsed", "5", "--out", "s.xml", cwd=tmp_path).returncode
        == 0
    )
    proc = avs("submit", "--check", "s.xml", "--shots", listing, cwd=tmp_path)
    assert proc.returncode == 1 and ", ".join(unknown) in proc.stderr
    full = tmp_path / "full.txt"
    full.write_text("\n".join(shots) + "\n", encoding="utf-8")
    assert avs("submit", "--check", "s.xml", "--shots", full, cwd=tmp_path).returncode == 0


def test_workspace_names_the_shot_list(tmp_path: Path) -> None:
    shots = sorted({r.shot for r in read_trec_run(RUCMM)})
    (tmp_path / "v3c1.txt").write_text("\n".join(shots[1:]) + "\n", encoding="utf-8")
    (tmp_path / "avs.toml").write_text('[collections.V3C1]\nshots = "v3c1.txt"\n')
    proc = avs("submit", RUCMM, *TEAM, "--elapsed", "5", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 1 and "1 shot id(s) not in the collection's shot list" in proc.stderr
    assert shots[0] in proc.stderr


@pytest.mark.parametrize("name", ["fuse", "fuse-learn", "convert"])
def test_fusion_commands_import_neither_torch_nor_dask(tmp_path: Path, name: str) -> None:
    """Running them (not just importing) pulls in no torch or dask."""
    args = {
        "fuse": [str(RUCMM), "--out", str(tmp_path / "f.parquet")],
        "fuse-learn": [
            f"A={RUCMM}",
            f"B={RUCMM}",
            "--qrels",
            str(QRELS),
            "--folds",
            "2",
            "--out",
            str(tmp_path / "r.json"),
        ],  # fmt: skip
        "convert": [str(RUCMM), str(tmp_path / "c.parquet")],
    }[name]
    script = (
        "import sys\nfrom avs.cli import main\n"
        f"try:\n    main([{name!r}, *{args!r}])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'dask', 'distributed')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout, proc.stdout


def test_fused_parquet_runs_sum_their_inputs_times(workdir: Path, new_run, topics_of) -> None:
    """Fused from runs that record per-topic times, a run records their sum (it costs
    all of its inputs) and `avs submit` needs no --elapsed."""
    from avs.fusion.fuse import fuse_files

    topics = topics_of("2022.txt")
    a = new_run(workdir / "a.parquet", 2022, topics, k=20, seed=1)
    b = new_run(workdir / "b.parquet", 2022, topics, k=20, seed=2, elapsed=1.0)
    fused = fuse_files([a, b], workdir / "f.parquet").path
    elapsed = read_run(fused).meta["elapsed"]
    assert elapsed["701"] == 2.5 + 1.0 and elapsed["702"] == 2.75 + 1.25
    proc = avs("submit", fused, *TEAM, "--out", "s.xml", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "simulated collection: not a real submission" in proc.stderr
