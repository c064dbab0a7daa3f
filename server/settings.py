"""Settings: one frozen object, built from ``MIROX_*`` environment variables and flags.

Nothing here is read at import time: ``Settings.from_env(os.environ)`` is called by
``run.py`` (or a test) and the result is handed to ``create_app``.
"""

import dataclasses
import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.audit_sinks import SinkError, parse_sink
from server.times import UnknownZone, zone_of


class SettingsError(ValueError):
    """A setting has a value the app cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured, with production defaults."""

    data_dir: Path = Path("data")
    database_url: str = ""
    database_schema: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    root_path: str = ""
    trusted_proxies: str = "127.0.0.1"
    issuer: str = "Mirox"
    help_contact: str = "your administrator"
    time_zone: str = ""
    totp_keys: str = field(default="", repr=False)
    key_file: Path | None = None
    idle_timeout: float = 30 * 60
    absolute_lifetime: float = 12 * 60 * 60
    reauth_window: float = 10 * 60
    enrollment_ttl: float = 10 * 60  # no longer than reauth_window: Start again would ask for the password
    pending_signin_ttl: float = 5 * 60
    pending_signin_attempts: int = 5
    setup_token_ttl: float = 24 * 60 * 60
    throttle_base_delay: float = 1.0
    password_free_attempts: int = 5
    password_max_delay: float = 300.0
    address_max_delay: float = 900.0
    second_factor_free_attempts: int = 5
    second_factor_max_delay: float = 300.0
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    hash_threads: int = 4
    hash_queue: int = 32
    hash_known_queue: int = 8
    hash_share: int = 4
    hash_max_wait: float = 4.0
    device_cookie_lifetime: float = 180 * 24 * 60 * 60
    max_body_bytes: int = 16 * 1024
    db_acquire_timeout: float = 3.0
    max_header_bytes: int = 8 * 1024
    head_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive_timeout: int = 5
    request_timeout: float = 30.0
    max_connections: int = 200
    frame_ancestors: tuple[str, ...] = ()
    audit_sink: str = "stderr"
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    metrics_token: str = field(default="", repr=False)
    allowed_hosts: tuple[str, ...] = ()
    forward_auth_domains: tuple[str, ...] = ()
    cookie_domain: str = ""
    reset_grace_period: float = 24 * 60 * 60
    public_url: str = ""
    passkey_signin: bool = False
    key_challenge_ttl: float = 5 * 60

    @property
    def resolved_database_url(self) -> str:
        """The database URL; by default a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'mirox.sqlite3'}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "totp.key"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> "Settings":
        """Read ``MIROX_<NAME>`` for every field; ``overrides`` (flags) win; None means unset."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get("MIROX_" + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    def validated(self) -> "Settings":
        """Reject values that cannot work, with a message that names the setting."""
        positive = (
            "idle_timeout",
            "absolute_lifetime",
            "enrollment_ttl",
            "pending_signin_ttl",
            "pending_signin_attempts",
            "hash_threads",
            "hash_queue",
            "hash_known_queue",
            "hash_share",
            "hash_max_wait",
            "device_cookie_lifetime",
            "max_body_bytes",
            "db_acquire_timeout",
            "max_header_bytes",
            "head_timeout",
            "body_timeout",
            "keep_alive_timeout",
            "request_timeout",
            "max_connections",
            "workers",
            "setup_token_ttl",
            "throttle_base_delay",
            "argon2_time_cost",
            "argon2_memory_kib",
            "argon2_parallelism",
            "key_challenge_ttl",
        )
        # Negative throttle values would make every sign-in fail (Policy refuses them).
        not_negative = (
            "reauth_window",
            "reset_grace_period",
            "password_free_attempts",
            "password_max_delay",
            "address_max_delay",
            "second_factor_free_attempts",
            "second_factor_max_delay",
        )
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingsError(f"MIROX_{f.name.upper()} must be a finite number")
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"MIROX_{name.upper()} must be greater than zero")
        for name in not_negative:
            if getattr(self, name) < 0:
                raise SettingsError(f"MIROX_{name.upper()} must not be negative")
        if self.reauth_window > 0 and self.enrollment_ttl > self.reauth_window:
            raise SettingsError(
                "MIROX_ENROLLMENT_TTL must not be longer than MIROX_REAUTH_WINDOW: an Enable dialog "
                "would outlive the password confirmation, and Start again would ask for the password"
            )
        try:
            parse_sink(self.audit_sink)
        except SinkError as exc:
            raise SettingsError(f"MIROX_AUDIT_SINK: {exc}") from exc
        for entry in self.metrics_allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise SettingsError(f"MIROX_METRICS_ALLOW: {entry!r} is not an address or network") from exc
        try:
            zone_of(self.time_zone)
        except UnknownZone as exc:
            raise SettingsError(f"MIROX_TIME_ZONE: {exc}") from exc
        if not 0 < self.port < 65536:
            raise SettingsError("MIROX_PORT must be between 1 and 65535")
        if self.root_path and (not self.root_path.startswith("/") or self.root_path.endswith("/")):
            raise SettingsError("MIROX_ROOT_PATH must start with / and not end with / (for example /security)")
        if self.public_url and (not re.fullmatch(r"https?://[^/?#\s]+/?", self.public_url) or "@" in self.public_url):
            raise SettingsError(
                "MIROX_PUBLIC_URL must be the scheme and host people open, e.g. https://mirox.plant.example"
            )
        for host in self.allowed_hosts:
            if not _HOST_PATTERN.fullmatch(host):
                raise SettingsError(
                    f"MIROX_ALLOWED_HOSTS: {host!r} is not a host name or *.domain pattern (no scheme, port or path)"
                )
        named = [("FORWARD_AUTH_DOMAINS", d) for d in self.forward_auth_domains]
        for variable, domain in [*named, *([("COOKIE_DOMAIN", self.cookie_domain)] if self.cookie_domain else [])]:
            if not _DOMAIN_PATTERN.fullmatch(domain):
                raise SettingsError(
                    f"MIROX_{variable}: {domain!r} is not a lowercase host or domain name "
                    "(no scheme, port, path or wildcard; plant.example covers its subdomains)"
                )
        return self


_DOMAIN_PATTERN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_HOST_PATTERN = re.compile(r"(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]")


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind_text = str(kind)
    try:
        if kind in (bool,) or kind_text == "bool":
            if raw.lower() not in _BOOLEANS:
                raise ValueError(raw)
            return _BOOLEANS[raw.lower()]
        if kind in (int,) or kind_text == "int":
            return int(raw)
        if kind in (float,) or kind_text == "float":
            return float(raw)
        if "Path" in kind_text:
            return Path(raw)
        if "tuple" in kind_text:
            return tuple(part for part in raw.replace(",", " ").split() if part)
    except ValueError as exc:
        kind_of = "yes/no value" if kind_text == "bool" else "number"
        raise SettingsError(f"MIROX_{name.upper()}={raw!r} is not a valid {kind_of}") from exc
    return raw
