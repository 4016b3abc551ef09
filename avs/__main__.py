"""``python -m avs`` is the same as the ``avs`` command."""

from avs.cli import main

main()
