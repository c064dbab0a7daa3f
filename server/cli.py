"""The command line: serve (the default), user administration, schema upgrades, key rotation."""

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server import audit, cli_audit, cli_policy, cli_users, db, metrics
from server.cli_parsing import command, command_group
from server.flows import two_factor
from server.services import open_services
from server.settings import Settings, SettingsError

FLAG_SETTINGS = ("host", "port", "database_url", "data_dir", "workers", "root_path", "trusted_proxies")


def global_flags(p: argparse.ArgumentParser, default: Any) -> argparse.ArgumentParser:
    """The flags every command takes, before or after its name (``default``: SUPPRESS on subcommands,
    so a flag given before the subcommand is not overwritten by the subcommand's own default)."""
    flags = p.add_argument_group("global flags (before or after the command)")
    flags.add_argument("--host", default=default, help="address to listen on (default 127.0.0.1)")
    flags.add_argument("--port", type=int, default=default, help="port to listen on (default 8000)")
    flags.add_argument(
        "--database-url",
        default=default,
        help="sqlite:///path or postgresql://user@host/db (default: SQLite in the data dir)",
    )
    flags.add_argument(
        "--data-dir", type=Path, default=default, help="folder for the SQLite file and the key file (default ./data)"
    )
    flags.add_argument(
        "--workers", type=int, default=default, help="number of server processes (use PostgreSQL for more than one)"
    )
    flags.add_argument(
        "--root-path", default=default, help="path prefix when served behind a reverse proxy, e.g. /security"
    )
    flags.add_argument(
        "--trusted-proxies",
        default=default,
        help="comma-separated proxy addresses whose X-Forwarded-* headers are trusted",
    )
    return p


def parser() -> argparse.ArgumentParser:
    p = global_flags(argparse.ArgumentParser(prog="run.py", description="Mirox account security"), None)
    common = global_flags(argparse.ArgumentParser(add_help=False), argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command")
    command(
        sub,
        "serve",
        "run the web server (the default)",
        "python run.py serve --host 0.0.0.0 --port 8000 --data-dir /srv/mirox",
        common=common,
    )
    cli_users.add_commands(sub, common)
    database = command_group(sub, "db", "database maintenance", common)
    command(
        database,
        "upgrade",
        "create or upgrade the schema",
        "python run.py db upgrade --database-url postgresql://mirox@db.plant/mirox",
        common=common,
    )
    keys = command_group(sub, "keys", "encryption keys", common)
    command(keys, "new", "print a new random key", "python run.py keys new", common=common)
    command(
        keys,
        "rotate",
        "re-encrypt every stored secret with the current (first) key",
        'MIROX_TOTP_KEYS="$(python run.py keys new),$OLD_KEY" python run.py keys rotate',
        common=common,
    )
    cli_audit.add_commands(sub, common)
    cli_policy.add_commands(sub, common)
    return p


async def run_keys_rotate(settings: Settings) -> int:
    async with open_services(settings) as svc:
        missing = await two_factor.missing_key_ids(svc)
        if missing:
            print(
                f"Cannot re-encrypt: secrets were sealed with key id(s) {', '.join(missing)}, which MIROX_TOTP_KEYS"
                " does not hold. Put the new key first and the old one after it (MIROX_TOTP_KEYS=NEW,OLD), then"
                " run keys rotate again.",
                file=sys.stderr,
            )
            return 1
        count = await two_factor.reseal_all(svc)
        await audit.record(svc, "admin.keys_rotate", detail={"resealed": count})
    print(f"Re-encrypted {count} secret(s) with the current key.")
    return 0


async def run_db_upgrade(settings: Settings) -> int:
    async with open_services(settings) as svc:
        version = await db.schema_version(svc.db)
    print(f"Schema is at version {version}.")
    return 0


def metrics_folder(workers: int) -> tuple[Path | None, bool]:
    """The folder where worker processes keep their metrics (emptied), and whether it is a new temp folder.

    ``PROMETHEUS_MULTIPROC_DIR`` when set; otherwise, with several workers, a new temp folder
    (set in the environment here, before the workers start and import the metrics library).
    """
    given = os.environ.get(metrics.MULTIPROC_VARIABLE)
    if not given and workers == 1:
        return None, False
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="mirox-metrics-"))
    metrics.prepare_multiprocess_dir(path)
    os.environ[metrics.MULTIPROC_VARIABLE] = str(path)
    return path, not given


def serve(settings: Settings) -> int:
    import uvicorn

    from server.protocol import LimitedHttpProtocol

    for name in FLAG_SETTINGS:
        os.environ["MIROX_" + name.upper()] = str(getattr(settings, name))
    folder, temporary = metrics_folder(settings.workers)
    if folder is not None:
        print(f"Metrics of the worker processes are gathered in {folder}.", file=sys.stderr, flush=True)
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
        http=LimitedHttpProtocol,  # a head size limit and deadline (server/protocol.py)
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.max_connections,
    )
    if folder is not None and temporary:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ, **{name: getattr(args, name) for name in FLAG_SETTINGS})
        return _command(settings, args)
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2


def _command(settings: Settings, args: argparse.Namespace) -> int:
    command = args.command or "serve"
    if command == "serve":
        return serve(settings)
    if command == "user":
        return asyncio.run(cli_users.run(settings, args))
    if command == "db":
        return asyncio.run(run_db_upgrade(settings))
    if command == "audit":
        return asyncio.run(cli_audit.run(settings, args))
    if command in ("group", "policy"):
        return asyncio.run(cli_policy.run(settings, args))
    if args.action == "new":
        from server.auth.crypto import new_key_text

        print(new_key_text())
        return 0
    return asyncio.run(run_keys_rotate(settings))
