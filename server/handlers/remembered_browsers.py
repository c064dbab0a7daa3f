"""Remembered browsers on the Profile page: forget one browser, or every browser but this one."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account, remembered_browsers
from server.handlers.common import browsers_context
from server.web import clear_cookie, client_of, error_page, href, is_htmx, redirect, render, services


async def _answer(request: Request, notice: str, status: int = 200, *, this_browser: bool = False) -> Response:
    """The list in place for htmx; without JavaScript the Profile page again (an error page when refused)."""
    if not is_htmx(request) and status != 200:
        return error_page(request, status, notice)
    if is_htmx(request):
        context = await browsers_context(request, notice)
        response = render(request, "profile.html", "partials/remembered_browsers.html", context, status=status)
    else:
        await account.leave_notice(services(request), request.state.session, notice)
        response = redirect(request, href(request, "profile") + "#browsers")
    if this_browser:  # its cookie proves nothing any more: the browser drops it
        clear_cookie(response, request, "device")
    return response


async def forget(request: Request) -> Response:
    """Forget one remembered browser of the account; another account's or an unknown id: 404, nothing changes."""
    svc = services(request)
    device_id = request.path_params["device_id"]
    this_browser = await remembered_browsers.forget(svc, request.state.user, device_id, client_of(request))
    if this_browser is None:
        return await _answer(request, "browsers.not_found", 404)
    notice = "browsers.forgotten_this" if this_browser else "browsers.forgotten_one"
    return await _answer(request, notice, this_browser=this_browser)


async def forget_others(request: Request) -> Response:
    """Forget every remembered browser of the account but this one."""
    count = await remembered_browsers.forget_others(services(request), request.state.user, client_of(request))
    return await _answer(request, "browsers.forgotten_others" if count else "browsers.none_other")
