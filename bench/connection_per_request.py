"""One database connection per request versus one per statement.

`databases` opens a new SQLite connection (and thread) for every top-level call. The
request guard holds one connection for the whole request instead. This runs the
statements of one Profile page view both ways, side by side in one run, and prints
the time per page view and the ratio. With --database-url it also runs on PostgreSQL.

    python bench/connection_per_request.py [--views 300] [--database-url postgresql://…]
"""

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from databases import Database

from server import store
from server.auth.tokens import new_token, token_hash


async def page_view(db: Database, token: str, now: float) -> None:
    """The statements the guard and the Profile handler run for one view."""
    session = await store.touch_session(db, token_hash(token), now, 1800)
    assert session is not None
    user = await store.get_user(db, session.user_id)
    assert user is not None
    await store.take_notice(db, session)
    await store.list_sessions(db, user.id, now, 1800)
    await store.recent_events(db, user.id)


async def measure(db: Database, token: str, views: int, per_request: bool) -> float:
    started = time.perf_counter()
    for i in range(views):
        now = time.time() + i * 0.001
        if per_request:
            async with db.connection():
                await page_view(db, token, now)
        else:
            await page_view(db, token, now)
    return (time.perf_counter() - started) / views


async def run(label: str, db: Database, views: int) -> None:
    await db.connect()
    try:
        await store.upgrade_schema(db)
        now = time.time()
        await store.create_user(db, "bench", "bench", "not a real hash", now)
        user = await store.get_user_by_key(db, "bench")
        assert user is not None
        token = new_token()
        await store.create_session(db, token_hash(token), user.id, now, now + 3600, "bench", "127.0.0.1")
        await measure(db, token, 20, True)
        per_statement = await measure(db, token, views, False)
        per_request = await measure(db, token, views, True)
        print(f"{label}: {views} Profile page views")
        print(f"  connection per statement: {per_statement * 1000:7.2f} ms per view")
        print(f"  connection per request:   {per_request * 1000:7.2f} ms per view")
        print(f"  ratio (statement / request): {per_statement / per_request:.2f}x")
    finally:
        await db.disconnect()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=300)
    parser.add_argument("--database-url", help="also run on this PostgreSQL database (a scratch schema is used)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        await run("SQLite", store.open_database(f"sqlite:///{folder}/bench.sqlite3"), args.views)
    if args.database_url:
        import asyncpg

        schema = "bench_" + secrets.token_hex(4)
        admin = await asyncpg.connect(args.database_url.replace("+asyncpg", ""))
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            await run("PostgreSQL", store.open_database(args.database_url, schema), args.views)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
