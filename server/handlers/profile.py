"""The home page and the Profile page (account, Security card, sessions, activity)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server import store
from server.flows import account
from server.messages import EVENTS
from server.web import is_htmx, render, services


async def home(request: Request) -> Response:
    """The signed-in start page."""
    return render(request, "home.html", "home.html")


OFFER_AFTER = frozenset({"card.enabled", "card.disabled", "card.backup_used"})


async def card_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the Security card partial needs, read fresh from the database.

    After Enable, Disable or a backup-code sign-in the card offers to sign out the
    other sessions, when there are any.
    """
    svc = services(request)
    user = await store.get_user(svc.db, request.state.user.id) or request.state.user
    request.state.user = user
    offer = notice in OFFER_AFTER and len(await account.sessions_of(svc, user)) > 1
    return {"user": user, "card_notice": notice, "offer_signout": offer}


async def sessions_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the session list partial needs."""
    svc = services(request)
    return {
        "sessions": await account.sessions_of(svc, request.state.user),
        "this_session_id": request.state.session.id,
        "sessions_notice": notice,
    }


async def activity_context(request: Request) -> dict[str, Any]:
    """What the security activity partial needs."""
    return {
        "events": await store.recent_events(services(request).db, request.state.user.id),
        "event_names": EVENTS,
    }


async def profile(request: Request) -> Response:
    """Account details, the Security card, sessions and recent security activity.

    htmx gets the Security card alone (to refresh it in place): the session lookup
    has just read the account, so it needs no further query, and one-time notices
    stay for the full page.
    """
    if is_htmx(request):
        card = {"user": request.state.user, "card_notice": None, "offer_signout": False}
        return render(request, "profile.html", "partials/security_card.html", card)
    notice = await store.take_notice(services(request).db, request.state.session)
    session_notice = notice if notice and notice.startswith("sessions.") else None
    card_notice = None if session_notice else notice
    listed = await sessions_context(request, session_notice)
    context = {
        "user": request.state.user,  # read by the session lookup of this request
        "card_notice": card_notice,
        "offer_signout": card_notice in OFFER_AFTER and len(listed["sessions"]) > 1,
        **listed,
        **await activity_context(request),
    }
    return render(request, "profile.html", "profile.html", context)
