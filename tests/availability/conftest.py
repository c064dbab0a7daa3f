"""Fixtures for the availability tests: real ``run.py`` servers with short deadlines, on SQLite or PostgreSQL.

The deployment is the soak tests' (a fresh SQLite file, or a fresh PostgreSQL schema with
a pool of 10 when ``MIROX_TEST_DATABASE_URL`` is set); its servers run with deadlines of a
few seconds so that waiting for them stays short.
"""

import pytest

from tests.soak.conftest import Deployment, deployment

__all__ = ["deployment"]

HEAD_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
KEEP_ALIVE_TIMEOUT = 1
MARGIN = 3.0
"""How much later than its deadline the server may close a connection (a loaded CI machine)."""


@pytest.fixture
def limited(deployment: Deployment) -> Deployment:
    """The deployment, its servers started with two-second head and body deadlines, one-second keep-alive."""
    deployment.env.update(
        MIROX_HEAD_TIMEOUT=str(HEAD_TIMEOUT),
        MIROX_BODY_TIMEOUT=str(BODY_TIMEOUT),
        MIROX_KEEP_ALIVE_TIMEOUT=str(KEEP_ALIVE_TIMEOUT),
    )
    return deployment
