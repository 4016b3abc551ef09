"""Readers and writers for the files of a TRECVID AVS year (no torch, no dask here)."""
