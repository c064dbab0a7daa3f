"""What the two-factor policy adds to the pages: the setup page an account is led to, and the help text."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account, two_factor
from server.handlers.common import keys_context
from server.web import href, redirect, render, services


async def setup(request: Request) -> Response:
    """Set up two-factor authentication: why it is required, by when, the Enable dialog's first step,
    and Add security key (a key meets the policy too, for staff without a phone).

    The step shows at once while the password is recent (after sign-in, after the backup code);
    otherwise Enable asks for the password first, as on the Security card.
    """
    svc = services(request)
    user, session = request.state.user, request.state.session
    if user.two_factor_on or not request.state.standing.required:
        return redirect(request, href(request, "profile"))
    notice = await account.take_notice(svc, session)
    fresh = not account.needs_reauth(svc, session)
    enrollment = await two_factor.setup_enrollment(svc, user, session) if fresh else None
    context = {"enrollment": enrollment, "step": "scan", "setup_notice": notice, "user": user}
    context.update(await keys_context(request, notice if notice and notice.startswith("keys.") else None))
    return render(request, "two_factor_setup.html", "two_factor_setup.html", context)


async def help_page(request: Request) -> Response:
    """How two-factor authentication works here, for anyone (an account confined to the setup too)."""
    return render(request, "help_two_factor.html", "help_two_factor.html")
