"""The password prompt in front of sensitive actions, and the action it continues."""

import dataclasses

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account
from server.flows.outcomes import Status
from server.handlers.common import refusal
from server.web import client_of, error_page, field, fresh_route, read_form, reauth_prompt, resume, services


async def reauth_page(request: Request) -> Response:
    """The password prompt as a page of its own, in front of the fresh route named by ``then``."""
    then = request.query_params.get("then", "")[:64]
    if fresh_route(request, then) is None:
        return error_page(request, 400, "error.bad_request")
    return reauth_prompt(request, then, status=200)


async def reauth_submit(request: Request) -> Response:
    """Confirm the password, then continue with the fresh route that asked for it.

    The form names that route; only routes the table marks fresh are accepted (never a URL).
    """
    svc = services(request)
    form = await read_form(request)
    then = field(form, "then", 64)
    refused = fresh_route(request, then)
    if refused is None:
        return error_page(request, 400, "error.bad_request")
    result = await account.reauthenticate(
        svc, request.state.user, request.state.session, field(form, "password", 1024), client_of(request)
    )
    if result.status is not Status.OK:  # a wrong password reads as such; the waits as at sign-in
        error, status = refusal(result.status, "reauth" if result.status is Status.INVALID else "signin")
        return reauth_prompt(request, then, error, status, result.wait)
    request.state.session = dataclasses.replace(request.state.session, authenticated_at=svc.clock())
    return await resume(request, refused)
