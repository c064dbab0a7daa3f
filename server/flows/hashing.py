"""Argon2 work for a client goes through the admission queue: a slot first, or ``Busy`` at once."""

from server.auth.admission import Busy, Ticket
from server.services import Client, Services

__all__ = ["Busy", "hash_secret", "ticket", "verify"]


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
