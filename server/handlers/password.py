"""Change password: a dialog on the Profile page (a page of its own without JavaScript)."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import password as flow
from server.flows.account import MIN_PASSWORD
from server.handlers.common import done
from server.web import client_of, field, read_form, render_dialog, services

STATUS = {flow.Status.WRONG_CURRENT: 422, flow.Status.REFUSED: 422, flow.Status.THROTTLED: 429, flow.Status.BUSY: 503}


def _form(request: Request, error: str | None = None, status: int = 200, wait: int = 0) -> Response:
    headers = {"Retry-After": str(wait)} if wait else None
    return render_dialog(
        request,
        "partials/change_password.html",
        {"error": error, "wait": wait, "min_length": MIN_PASSWORD},
        status,
        headers=headers,
    )


async def change_page(request: Request) -> Response:
    """Change password: the current password and the new one twice."""
    return _form(request)


async def change_submit(request: Request) -> Response:
    """Check and store the new password; every other session of the account ends."""
    form = await read_form(request)
    outcome = await flow.change_password(
        services(request),
        request.state.user,
        request.state.session,
        field(form, "current_password", flow.MAX_PASSWORD),
        field(form, "new_password", flow.MAX_PASSWORD + 1),
        field(form, "confirm_password", flow.MAX_PASSWORD + 1),
        client_of(request),
    )
    if outcome.status is flow.Status.CHANGED:
        return await done(request, "password.changed")
    return _form(request, outcome.problem, STATUS[outcome.status], outcome.wait)
