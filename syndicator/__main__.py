"""``python -m syndicator`` is the ``syndicator`` command."""

from syndicator.cli import main

main()
