"""Jinja templates and run DTDs, shipped inside avs as ``avs.templates`` (see avs/resources.py)."""
