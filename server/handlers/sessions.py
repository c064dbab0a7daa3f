"""Managing Your Sessions: sign out one device, or every device but this one."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account
from server.handlers.common import done, sessions_context
from server.web import clear_cookie, client_of, error_page, href, is_htmx, redirect, render, services


async def _session_list(request: Request, notice: str, status: int = 200) -> Response:
    if not is_htmx(request):
        if status != 200:
            return error_page(request, status, notice)
        return await done(request, notice, sessions=True)
    context = await sessions_context(request, notice)
    return render(request, "profile.html", "partials/session_list.html", context, status=status)


async def signout_session(request: Request) -> Response:
    """Sign out one session; its cookie stops working at once."""
    svc = services(request)
    session_id = request.path_params["session_id"]
    if session_id == request.state.session.id:
        await account.sign_out(svc, request.state.user, request.state.session)
        response = redirect(request, href(request, "signin", {"m": "signed_out"}))
        clear_cookie(response, request, "session")
        return response
    # Ids are 32-bit database integers: a larger one from the URL is not a session (and
    # would overflow the driver's parameter, a 500 on SQLite).
    ended = session_id < 2**31 and await account.sign_out_session(svc, request.state.user, session_id)
    if not ended:  # someone else's session, or one that has ended: the same answer either way
        return await _session_list(request, "sessions.not_found", 404)
    return await _session_list(request, "sessions.signed_out_one")


async def signout_others(request: Request) -> Response:
    """Sign out all other sessions (the route asks for a recent password first).

    The answer updates the whole Profile page, as it may come from the password dialog:
    the session list, the card (its offer to sign out the others goes) and the activity.
    """
    svc = services(request)
    count = await account.sign_out_others(svc, request.state.user, request.state.session, client_of(request))
    return await done(request, "sessions.signed_out_others" if count else "sessions.none_other", sessions=True)
