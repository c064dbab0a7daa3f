"""Local users reading the SQLite database: the data folder is private and the files are 0600, whoever made the folder."""

import dataclasses
import logging
import os
import stat
from pathlib import Path

import pytest

from server.app import open_services
from tests.utils import add_user

pytestmark = pytest.mark.usefixtures("no_pg")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def default_sqlite(settings, tmp_path):
    """The default database: SQLite in the data folder, with the keys configured (no key file made)."""
    before = os.umask(0o022)
    yield dataclasses.replace(settings, data_dir=tmp_path / "fresh" / "data", database_url="")
    os.umask(before)


async def _write_something(settings, clock) -> Path:
    async with open_services(settings, clock=clock) as svc:
        await add_user(svc)
        database = settings.data_dir / "mirox.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            assert _mode(Path(f"{database}{suffix}")) == 0o600, suffix
    return database


async def test_new_data_folder_and_database_files_are_private(default_sqlite, clock):
    """Under umask 022, a first start makes the folder 0700 and mirox.sqlite3, -wal and -shm 0600."""
    await _write_something(default_sqlite, clock)
    assert _mode(default_sqlite.data_dir) == 0o700


async def test_database_files_are_private_in_a_folder_the_operator_made(default_sqlite, clock, caplog):
    """In an existing 0755 folder the files are still 0600, and the start warns that the folder is open."""
    default_sqlite.data_dir.mkdir(parents=True, mode=0o755)
    with caplog.at_level(logging.WARNING, logger="mirox"):
        await _write_something(default_sqlite, clock)
    assert str(default_sqlite.data_dir) in caplog.text
    assert _mode(default_sqlite.data_dir) == 0o755


async def test_start_warns_about_an_existing_database_file_others_can_read(default_sqlite, clock, caplog):
    """A database file left 0644 by an older release is named in a warning at start."""
    default_sqlite.data_dir.mkdir(parents=True, mode=0o700)
    database = default_sqlite.data_dir / "mirox.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="mirox"):
        async with open_services(default_sqlite, clock=clock):
            pass
    assert str(database) in caplog.text
    assert "chmod" in caplog.text
