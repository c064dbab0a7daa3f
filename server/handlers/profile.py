"""The home page and the Profile page (account, Security card, sessions, remembered browsers, activity)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account, notices
from server.handlers.common import OFFER_AFTER, activity_context, browsers_context, keys_context, sessions_context
from server.web import is_htmx, render, services


async def notices_context(request: Request) -> dict[str, Any]:
    """The security notices not answered yet (shown at the first page after sign-in and on Profile)."""
    svc = services(request)
    return {"notices": await notices.pending(svc, request.state.user, request.state.session), "notices_answer": None}


async def home(request: Request) -> Response:
    """The signed-in start page."""
    return render(request, "home.html", "home.html", await notices_context(request))


async def profile(request: Request) -> Response:
    """Account details, the Security card, sessions, remembered browsers and recent security activity.

    htmx gets the Security card alone (to refresh it in place), with its lasting notice
    only: one-time notices stay for the full page.
    """
    svc = services(request)
    standing = await account.standing_card_notice(svc, request.state.user)
    if is_htmx(request):
        card = {"user": request.state.user, "card_notice": standing, "offer_signout": False}
        return render(request, "profile.html", "partials/security_card.html", card)
    notice = await account.take_notice(svc, request.state.session)
    session_notice = notice if notice and notice.startswith("sessions.") else None
    notices_answer = notice if notice and notice.startswith("notice.") else None
    keys_notice = notice if notice and notice.startswith("keys.") else None
    browsers_notice = notice if notice and notice.startswith("browsers.") else None
    card_notice = (None if session_notice or notices_answer or keys_notice or browsers_notice else notice) or standing
    listed = await sessions_context(request, session_notice)
    context = {
        "user": request.state.user,  # read by the session lookup of this request
        "card_notice": card_notice,
        "offer_signout": card_notice in OFFER_AFTER and len(listed["sessions"]) > 1,
        **listed,
        **await keys_context(request, keys_notice),
        **await browsers_context(request, browsers_notice),
        **await activity_context(request),
        **await notices_context(request),
        "notices_answer": notices_answer,
    }
    return render(request, "profile.html", "profile.html", context)
