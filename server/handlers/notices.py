"""The security notices' two answers: "That was me" and "This wasn't me"."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account, notices
from server.web import client_of, error_page, field, href, is_htmx, read_form, redirect, render, services

MAX_SEQ_DIGITS = 10


async def _up_to(request: Request) -> int | None:
    """The last record the page showed (a hidden field), or None when it is not a number."""
    value = field(await read_form(request), "up_to", MAX_SEQ_DIGITS + 1)
    return int(value) if value.isdigit() and len(value) <= MAX_SEQ_DIGITS else None


async def _answered(request: Request, key: str) -> Response:
    """The answer in place of the notices (htmx), or on the Profile page after a redirect."""
    if is_htmx(request):
        return render(request, "profile.html", "partials/notices.html", {"notices": None, "notices_answer": key})
    await account.leave_notice(services(request), request.state.session, key)
    return redirect(request, href(request, "profile") + "#security-notices")


async def acknowledge(request: Request) -> Response:
    """That was me: dismiss the notices shown."""
    up_to = await _up_to(request)
    if up_to is None:
        return error_page(request, 400, "error.bad_request")
    await notices.acknowledge(services(request), request.state.user, up_to)
    return await _answered(request, "notice.acknowledged")


async def disown(request: Request) -> Response:
    """This wasn't me: sign out every other session and pending sign-in, flag the account, say what to do next."""
    up_to = await _up_to(request)
    if up_to is None:
        return error_page(request, 400, "error.bad_request")
    svc = services(request)
    await notices.disown(svc, request.state.user, request.state.session, up_to, client_of(request))
    return await _answered(request, "notice.disowned")
