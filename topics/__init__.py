"""TRECVID AVS topic files, shipped inside avs as ``avs.topics`` (see avs/resources.py)."""
