"""Helpers shared by the test suite, imported as ``tests.support.*`` (pytest puts the
repository root on sys.path: ``pythonpath`` in pyproject.toml).

    cli.py         the avs CLI in a subprocess: run, time, kill (one kill helper), measure
    files.py       runs to submit or evaluate; checks of what a command left on disk
    searchkit.py   a tiny search world: feature store, LAFF model, index, topics
    cluster.py     pytest plugin: a `dask scheduler` + two `dask worker` processes
    training.py    TrainOptions for the tiny training collection
"""
