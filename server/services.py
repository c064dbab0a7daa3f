"""What a request, a flow or the command line needs from the running app, and how it is built.

Nothing here knows about HTTP: flows and the command line import this module, never the web layer.
"""

import hashlib
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from databases import Database

from server import db as database
from server import metrics
from server.audit_sinks import Sink, open_sink
from server.auth import device_cookie
from server.auth.admission import HashQueue
from server.auth.crypto import Keyring, load_or_create_key_file, parse_keys
from server.auth.devices import summarize_user_agent
from server.auth.passwords import PasswordHasher
from server.file_modes import prepare_private_database, sqlite_file
from server.settings import Settings, SettingsError
from server.times import Times, zone_of

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

logger = logging.getLogger("mirox")


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for sessions and the activity log."""

    ip: str
    user_agent: str
    device: str | None = field(default=None, repr=False)
    """The browser's device cookie, as sent (see ``server.auth.device_cookie``)."""


@dataclass(frozen=True)
class Services:
    """What a request needs from the running app (the lifespan state)."""

    settings: Settings
    db: Database
    clock: Callable[[], float]
    keyring: Keyring
    hasher: PasswordHasher
    hash_queue: HashQueue
    csrf_key: bytes
    device_key: bytes
    templates: jinja2.Environment
    audit_sink: Sink


def _keys(settings: Settings) -> list[bytes]:
    """The encryption keys (current first): from configuration, else from the key file."""
    try:
        if settings.totp_keys:
            return parse_keys(settings.totp_keys)
        return load_or_create_key_file(settings.resolved_key_file)
    except ValueError as exc:
        where = "MIROX_TOTP_KEYS" if settings.totp_keys else f"the key file {settings.resolved_key_file}"
        raise SettingsError(f"{where}: {exc} (make one with `run.py keys new`)") from None


def _templates(times: Times) -> jinja2.Environment:
    """The page templates, compiled once per process: no stat() of every template per render.

    Times read in the plant's zone (``times``): ``|datetime`` as text, ``when(t)`` as a
    ``<time>`` element with its relative time, ``time_zone()`` names the zone.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape(), auto_reload=False
    )
    env.filters.update(
        date=times.date,
        datetime=times.datetime,
        isodate=times.iso_date,
        device=summarize_user_agent,
    )
    env.globals.update(when=times.tag, time_zone=times.zone_name)
    return env


@asynccontextmanager
async def open_services(settings: Settings, *, clock: Callable[[], float] = time.time) -> AsyncIterator[Services]:
    """Connect to the database (creating or upgrading the schema) and yield what requests need."""
    keys = _keys(settings)
    database_file = sqlite_file(settings.resolved_database_url)
    if database_file is not None:
        for warning in prepare_private_database(database_file, create_folder=settings.database_url == ""):
            logger.warning(warning)
    started = time.perf_counter()
    hasher = metrics.MeasuredHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        limit=settings.hash_threads,
    )
    # The hasher made one hash at start: the queue's first estimate of a hash's time, with
    # every hashing thread busy on the cores there are.
    busy_share = max(1.0, settings.hash_threads / (os.cpu_count() or 1))
    first_hash = (time.perf_counter() - started) * busy_share
    sink = open_sink(settings.audit_sink)
    try:
        async with database.opened(
            settings.resolved_database_url, settings.database_schema, settings.db_acquire_timeout
        ) as db:
            yield Services(
                settings=settings,
                db=db,
                clock=clock,
                keyring=Keyring(keys),
                hasher=hasher,
                hash_queue=HashQueue(
                    slots=settings.hash_threads,
                    general=settings.hash_queue,
                    known=settings.hash_known_queue,
                    share=settings.hash_share,
                    max_wait=settings.hash_max_wait,
                    hash_seconds=first_hash,
                ),
                csrf_key=hmac.new(keys[0], b"mirox csrf token", hashlib.sha256).digest(),
                device_key=device_cookie.derive_key(keys[0]),
                templates=_templates(Times(zone_of(settings.time_zone), clock, settings.time_zone)),
                audit_sink=sink,
            )
    finally:
        sink.close()
        hasher.close()
