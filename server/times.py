"""Times as plant staff read them: in one configured time zone, named, with a relative time.

``MIROX_TIME_ZONE`` (an IANA name such as ``Europe/Berlin``) sets the zone; empty means the
server's own. "Now" is the app's injected clock, so "5 min ago" is computed on the server
(it reads the same with JavaScript off) and tests never wait for it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

ACTIVE_NOW = 60.0
"""A session seen within this many seconds is "Active now"."""


class UnknownZone(ValueError):
    """The configured time zone is not in the zone database."""


def zone_of(name: str) -> tzinfo | None:
    """The zone called ``name``; None (the server's own zone) when empty."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(f"{name!r} is not a time zone name (for example Europe/Berlin or UTC)") from exc


def relative(seconds_ago: float) -> str:
    """ "just now", "5 min ago", "3 h ago", "2 days ago"; a time in the future reads "just now"."""
    if seconds_ago < 60:
        return "just now"
    minutes = int(seconds_ago // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    return "1 day ago" if days == 1 else f"{days} days ago"


@dataclass(frozen=True)
class Times:
    """Formats Unix times in the plant's zone; ``clock`` is the app's (injected) clock."""

    zone: tzinfo | None
    clock: Callable[[], float]
    zone_key: str = ""

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.zone) if self.zone else datetime.fromtimestamp(t).astimezone()

    def zone_name(self) -> str:
        """The zone as the page names it: its IANA name and current abbreviation, e.g. "Europe/Berlin (CET)"."""
        short = self.local(self.clock()).tzname() or ""
        return f"{self.zone_key} ({short})" if self.zone_key and short != self.zone_key else (self.zone_key or short)

    def date(self, t: float | None) -> str:
        return self.local(t).strftime("%-d %b %Y") if t else ""

    def datetime(self, t: float | None) -> str:
        """ "3 Dec 2026, 14:05 CET"."""
        return self.local(t).strftime("%-d %b %Y, %H:%M %Z") if t else ""

    def iso(self, t: float | None) -> str:
        """The machine-readable form with its offset, for ``<time datetime>``."""
        return self.local(t).isoformat(timespec="seconds") if t else ""

    def iso_date(self, t: float | None) -> str:
        """The day in the plant's zone, for ``<time datetime>`` around a date."""
        return self.local(t).date().isoformat() if t else ""

    def ago(self, t: float | None) -> str:
        return relative(self.clock() - t) if t else ""

    def tag(self, t: float | None, *, active: bool = False) -> Markup:
        """``<time datetime="…">3 Dec 2026, 14:05 CET</time>`` and the relative time ("Active now" if ``active``)."""
        if not t:
            return Markup("")
        recent = "Active now" if active and self.clock() - t < ACTIVE_NOW else self.ago(t)
        return Markup('<time datetime="{}">{}</time> <span class="ago">({})</span>').format(
            self.iso(t), self.datetime(t), escape(recent)
        )
