"""The home page and the Profile page (account, Security card, sessions, activity)."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account
from server.handlers.common import OFFER_AFTER, activity_context, sessions_context
from server.web import is_htmx, render, services


async def home(request: Request) -> Response:
    """The signed-in start page."""
    return render(request, "home.html", "home.html")


async def profile(request: Request) -> Response:
    """Account details, the Security card, sessions and recent security activity.

    htmx gets the Security card alone (to refresh it in place): the session lookup
    has just read the account, so it needs no further query, and one-time notices
    stay for the full page.
    """
    if is_htmx(request):
        card = {"user": request.state.user, "card_notice": None, "offer_signout": False}
        return render(request, "profile.html", "partials/security_card.html", card)
    notice = await account.take_notice(services(request), request.state.session)
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
