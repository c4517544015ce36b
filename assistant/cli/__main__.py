"""``python -m assistant.cli``: the same entry point as the ``advisor`` script."""

from assistant.cli import run

run()
