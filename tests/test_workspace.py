from pathlib import Path

import pytest

from avs.errors import FormatError
from avs.trecvid import collection_for_year
from avs.workspace import load_workspace


def test_year_table():
    assert [collection_for_year(y) for y in (2016, 2018, 2019, 2021, 2022, 2024)] == [
        "IACC.3",
        "IACC.3",
        "V3C1",
        "V3C1",
        "V3C2",
        "V3C2",
    ]
    assert collection_for_year(None) == "V3C1"


def test_resolves_year_to_collection_paths(tmp_path: Path):
    ws_file = tmp_path / "avs.toml"
    ws_file.write_text(
        """
[workspace]
runs = "out"
k = 500
[collections.V3C2]
features = "c/shots.h5"
model = "models/m"
index = "index/m"
[collections.V3C1]
index = "/abs/index"
[years.2022]
qrels = "q/2022.qrels"
run_name = "r22"
[team]
pid = "T"
priority = 2
class = "F"
runs = ["out/r22.parquet"]
"""
    )
    ws = load_workspace(ws_file)
    assert ws.defaults.k == 500 and ws.runs_dir == tmp_path / "out"
    y = ws.year_config(2022)
    assert y.collection == "V3C2"
    assert y.model == tmp_path / "models/m" and y.index == tmp_path / "index/m"
    assert y.qrels == tmp_path / "q/2022.qrels" and y.run_name == "r22"
    assert ws.year_config(2020).index == Path("/abs/index")
    assert ws.year_config(None).collection == "V3C1"
    assert ws.year_config(2017).model is None  # IACC.3 not configured
    assert ws.team.pid == "T" and ws.team.class_ == "F" and ws.team.priority == 2
    assert ws.team.runs == [tmp_path / "out/r22.parquet"]


@pytest.mark.parametrize(
    "text, field",
    [
        ("[workspace]\nk = 'many'\n", "workspace.k"),
        ("[workspace]\nk = true\n", "workspace.k"),
        ("[workspace]\nkk = 1\n", "workspace.kk"),
        ("[collections.V3C2]\nmodle = 'x'\n", "collections.V3C2.modle"),
        ("[years.twenty]\nqrels = 'x'\n", "years.twenty"),
        ("[team]\nruns = 'x.parquet'\n", "team.runs"),
        ("[bogus]\n", "bogus"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, text: str, field: str):
    ws_file = tmp_path / "avs.toml"
    ws_file.write_text(text)
    with pytest.raises(FormatError) as err:
        load_workspace(ws_file)
    assert err.value.field == field
    assert str(ws_file) in str(err.value)


def test_invalid_toml_names_file(tmp_path: Path):
    ws_file = tmp_path / "avs.toml"
    ws_file.write_text("[workspace\n")
    with pytest.raises(FormatError, match="not valid TOML"):
        load_workspace(ws_file)


def test_no_workspace_gives_defaults(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AVS_WORKSPACE", raising=False)
    ws = load_workspace()
    assert ws.path is None and ws.defaults.k == 1000 and ws.runs_dir == tmp_path / "runs"
