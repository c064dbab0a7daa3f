"""Who is asking: the client address every throttle and the hashing queue count by."""

import pytest
from starlette.requests import Request

from server.web import client_of


def request_from(client: tuple[str | None, int] | None) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/signin", "headers": [], "client": client})


@pytest.mark.parametrize("client", [None, (None, 0)], ids=["no client", "no host"])
def test_a_request_without_a_client_address_counts_as_unknown(client):
    """uvicorn 0.30 gives ``(None, 0)`` when every X-Forwarded-For hop is trusted: that is "unknown", not None (a 500)."""
    assert client_of(request_from(client)).ip == "unknown"


def test_the_client_address_is_the_connection_or_forwarded_host():
    """The address uvicorn reports (its proxy-header middleware applied) is the client's."""
    assert client_of(request_from(("10.1.2.3", 5000))).ip == "10.1.2.3"
