"""Whether this process can serve sign-ins now: the database answers and the keys open the stored secrets."""

from server import store
from server.auth.crypto import SealError
from server.flows.two_factor import open_secret
from server.services import Services


async def problem(svc: Services) -> str | None:
    """None when ready, else a short word for the operator ("database" or "keys").

    The database part takes a pooled connection like any request, so it fails while the
    database is unreachable and while every connection stays taken past the acquire deadline.
    """
    try:
        user = await store.any_two_factor_user(svc.db)
    except store.UNAVAILABLE:
        return "database"
    if user is not None:
        try:
            open_secret(svc, user)
        except SealError:
            return "keys"
    return None
