"""Private files: the SQLite database holds password hashes, sealed secrets, addresses and user agents."""

import contextlib
import os
import stat
from pathlib import Path


def sqlite_file(database_url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL; None for other databases (or an in-memory one)."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split("://", 1)[-1].split("?", 1)[0][1:]
    return Path(path) if path and path != ":memory:" else None


def prepare_private_database(path: Path, *, create_folder: bool) -> list[str]:
    """Create the folder (0700, when asked) and an empty database file (0600) unless they exist.

    SQLite gives the ``-wal`` and ``-shm`` files it creates later the mode of the database file,
    so they are 0600 too. Returns a warning for each existing folder or file others may access.
    """
    folder = path.parent
    if create_folder and not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    warnings = []
    for item, fix in ((folder, "chmod 700"), *((Path(f"{path}{s}"), "chmod 600") for s in ("", "-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(item.stat().st_mode)
            if mode & 0o077:
                warnings.append(f"{item} has mode {mode:04o}: other local users may read the accounts' data ({fix} it)")
    return warnings
