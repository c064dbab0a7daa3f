"""The home page and the Profile page (account, Security card, sessions, activity)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server import store
from server.flows import account
from server.messages import EVENTS
from server.web import render, services


async def home(request: Request) -> Response:
    """The signed-in start page."""
    return render(request, "home.html", "home.html")


async def card_context(request: Request, notice: str | None = None, offer_signout: bool = False) -> dict[str, Any]:
    """What the Security card partial needs."""
    svc = services(request)
    user = await store.get_user(svc.db, request.state.user.id) or request.state.user
    request.state.user = user
    return {"user": user, "card_notice": notice, "offer_signout": offer_signout}


async def sessions_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the session list partial needs."""
    svc = services(request)
    return {
        "sessions": await account.sessions_of(svc, request.state.user),
        "this_session_id": request.state.session.id,
        "sessions_notice": notice,
    }


OFFER_AFTER = frozenset({"card.enabled", "card.disabled", "card.backup_used"})


async def profile(request: Request) -> Response:
    """Account details, the Security card, sessions and recent security activity."""
    svc = services(request)
    notice = await store.take_notice(svc.db, request.state.session)
    card_notice = notice if notice and notice.startswith("card.") else None
    session_notice = notice if notice and notice.startswith("sessions.") else None
    context = {
        **await card_context(request, card_notice, offer_signout=card_notice in OFFER_AFTER),
        **await sessions_context(request, session_notice),
        "events": await store.recent_events(svc.db, request.state.user.id),
        "event_names": EVENTS,
    }
    return render(request, "profile.html", "profile.html", context)
