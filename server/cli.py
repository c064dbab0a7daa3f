"""The command line: serve (the default), user administration, schema upgrades, key rotation."""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from server import db, store
from server.flows import account, two_factor
from server.flows.account import username_key
from server.messages import message
from server.services import open_services
from server.settings import Settings, SettingsError

FLAG_SETTINGS = ("host", "port", "database_url", "data_dir", "workers", "root_path", "trusted_proxies")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py", description="Mirox account security")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8000)")
    p.add_argument(
        "--database-url", help="sqlite:///path or postgresql://user@host/db (default: SQLite in the data dir)"
    )
    p.add_argument("--data-dir", type=Path, help="folder for the SQLite file and the key file (default ./data)")
    p.add_argument("--workers", type=int, help="number of server processes (use PostgreSQL for more than one)")
    p.add_argument("--root-path", help="path prefix when served behind a reverse proxy, e.g. /security")
    p.add_argument("--trusted-proxies", help="comma-separated proxy addresses whose X-Forwarded-* headers are trusted")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the web server (the default)")
    user = sub.add_parser("user", help="manage accounts").add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "create an account (password from the prompt or one line of stdin)"),
        ("disable", "disable an account and end its sessions"),
        ("set-password", "set a new password (from the prompt or one line of stdin)"),
        ("reset-2fa", "turn two-factor authentication off for a user who lost phone and backup code"),
    ):
        user.add_parser(action, help=text).add_argument("name")
    user.add_parser("list", help="list accounts")
    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema")
    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(dest="action", required=True)
    keys.add_parser("new", help="print a new random key")
    keys.add_parser("rotate", help="re-encrypt every stored secret with the current (first) key")
    return p


def read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat: ") != first:
            raise SystemExit(message("setup.password_mismatch"))
        return first
    return sys.stdin.readline().rstrip("\n")


def _report(problem: str | None, success: str) -> int:
    """Print the problem (a message key) to stderr and fail, or print what was done."""
    if problem:
        print(message(problem), file=sys.stderr)
        return 1
    print(success)
    return 0


async def run_user(settings: Settings, action: str, name: str | None) -> int:
    async with open_services(settings) as svc:
        if action == "list":
            for u in await store.list_users(svc.db):
                state = "disabled" if u.disabled_at else ("2FA on" if u.two_factor_on else "2FA off")
                print(f"{u.username}\t{state}")
            return 0
        assert name is not None
        if action == "add":
            problem = await account.add_user(svc, name, read_password(f"Password for {name}: "))
            return _report(problem, f"Created {name}.")
        user = await store.get_user_by_key(svc.db, username_key(name))
        if user is None:
            print(f"No account named {name}.", file=sys.stderr)
            return 1
        if action == "disable":
            await store.disable_user(svc.db, user.id, svc.clock())
            print(f"Disabled {user.username}; their sessions have ended.")
        elif action == "set-password":
            problem = await account.set_password(svc, user, read_password(f"New password for {user.username}: "))
            return _report(problem, f"Password changed for {user.username}.")
        elif action == "reset-2fa":
            changed = await two_factor.admin_reset(svc, user)
            print(f"Two-factor authentication {'turned off' if changed else 'was already off'} for {user.username}.")
        return 0


async def run_keys_rotate(settings: Settings) -> int:
    async with open_services(settings) as svc:
        count = await two_factor.reseal_all(svc)
    print(f"Re-encrypted {count} secret(s) with the current key.")
    return 0


async def run_db_upgrade(settings: Settings) -> int:
    async with open_services(settings) as svc:
        version = await db.schema_version(svc.db)
    print(f"Schema is at version {version}.")
    return 0


def serve(settings: Settings) -> int:
    import uvicorn

    for name in FLAG_SETTINGS:
        os.environ["MIROX_" + name.upper()] = str(getattr(settings, name))
    where = f"http://{settings.host}:{settings.port}{settings.root_path}/"
    print(
        f"Mirox account security: open {where} in your browser (Ctrl+C stops it).",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "server.asgi:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        root_path=settings.root_path,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
        log_level="info",
        access_log=False,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ, **{name: getattr(args, name) for name in FLAG_SETTINGS})
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    command = args.command or "serve"
    if command == "serve":
        return serve(settings)
    if command == "user":
        return asyncio.run(run_user(settings, args.action, getattr(args, "name", None)))
    if command == "db":
        return asyncio.run(run_db_upgrade(settings))
    if args.action == "new":
        from server.auth.crypto import new_key_text

        print(new_key_text())
        return 0
    return asyncio.run(run_keys_rotate(settings))
