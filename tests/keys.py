"""Helpers for security-key tests: a server that offers keys, and the browser's part of each ceremony."""

import dataclasses

import httpx
from sqlalchemy import select

from server.services import Services
from server.settings import Settings
from server.tables import security_keys
from tests.soft_key import ORIGIN, SoftKey
from tests.utils import post


def with_keys(settings: Settings, **more: object) -> Settings:
    """``settings`` with the public URL the software key signs for (http://localhost)."""
    return dataclasses.replace(settings, public_url=ORIGIN, **more)  # type: ignore[arg-type]


async def add_options(client: httpx.AsyncClient, page: str = "") -> dict:  # type: ignore[type-arg]
    response = await post(client, "/profile/keys/options", page=page)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_key(
    client: httpx.AsyncClient,
    key: SoftKey,
    *,
    name: str = "Yellow YubiKey",
    code: str = "",
    confirm_with: SoftKey | None = None,
    page: str = "",
    **lie: str,
) -> httpx.Response:
    """Add security key as static/keys.js does on ``page``: options, (confirm with a key,) create, submit."""
    options = await add_options(client, page)
    confirmation = confirm_with.get(options["confirm"]) if confirm_with else ""
    credential = key.create(options["publicKey"], **lie)
    data = {"name": name, "credential": credential, "code": code, "confirmation": confirmation}
    return await post(client, "/profile/keys", data, page=page)


async def stored_keys(svc: Services) -> list[dict]:  # type: ignore[type-arg]
    rows = await svc.db.fetch_all(select(security_keys).order_by(security_keys.c.id))
    return [dict(row._mapping) for row in rows]
