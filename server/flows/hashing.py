"""Argon2 work for a client goes through the admission queue: a slot first, or ``Busy`` at once."""

from server.auth.admission import Busy, Ticket
from server.services import Client, Services

__all__ = ["Busy", "hash_secret", "paced", "ticket", "verify"]


def ticket(client: Client, account_key: str, *, known: bool = False) -> Ticket:
    """Who asks: the client's address (network), the account named, whether the browser is known."""
    return Ticket.of(client.ip, account_key[:64], known=known)


async def verify(svc: Services, ticket: Ticket, hash_: str | None, secret: str) -> tuple[bool, bool]:
    """``hasher.verify`` once admitted: (ok, needs_rehash); raises ``Busy``."""
    async with svc.hash_queue.admitted(ticket):
        return await svc.hasher.verify(hash_, secret)


async def hash_secret(svc: Services, ticket: Ticket, secret: str) -> str:
    """``hasher.hash`` once admitted; raises ``Busy``."""
    async with svc.hash_queue.admitted(ticket):
        return await svc.hasher.hash(secret)


async def paced(svc: Services, ticket: Ticket, busy: Busy) -> int:
    """The wait a busy answer tells, given no sooner than the address's last busy answer said."""
    await svc.hash_queue.pacer.pace(ticket.address, busy.retry_after)
    return busy.retry_after
