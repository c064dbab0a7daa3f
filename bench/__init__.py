"""The benchmark harness: ``python -m bench`` (see the README's "Performance" section).

The servers it measures are started by the harness of the tests (``tests/servers.py``) the
production way, ``python run.py``, with the production argon2id cost.
"""


class BenchError(Exception):
    """Something went wrong that is not a missed target (the run fails)."""
