"""Shot embeddings and exact top-k scoring on Dask (``avs index``, ``avs score``).

Modules: ``index`` (embed a collection into sharded .npy files), ``score``
(:func:`score_shard`, the per-shard Dask task), ``merge`` (:func:`merge_topk`, the
associative merge that applies the tie rule) and ``job`` (the ``avs score`` driver).
Nothing is imported here, so ``import avs.search.merge`` stays free of torch and dask.
"""
