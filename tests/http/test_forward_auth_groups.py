"""``/auth/verify`` with groups (``Remote-Groups``, ``?groups=``) and the two-factor policy."""

from server.auth.policy import Scope
from server.flows import admin
from tests.utils import add_user, shows, signed_in_without_two_factor

VERIFY = "/auth/verify"


async def test_the_accounts_groups_go_to_the_app_sorted_and_comma_separated(client, svc):
    """``Remote-Groups`` lists the account's groups; an account without groups passes with an empty list."""
    await signed_in_without_two_factor(client, svc)
    assert (await client.get(VERIFY)).headers["remote-groups"] == ""
    await admin.add_to_group(svc, "operators", ["alice"])
    await admin.add_to_group(svc, "control-room", ["alice"])
    response = await client.get(VERIFY)
    assert response.status_code == 200
    assert response.headers["remote-groups"] == "control-room,operators"


async def test_an_app_for_a_group_lets_its_members_in_and_refuses_others_with_403(client, svc):
    """``?groups=a,b``: a member of either passes (names compared case-insensitively); anyone else gets 403
    with the group page in ``Location``; a signed-out browser still gets 401."""
    await signed_in_without_two_factor(client, svc)
    refused = await client.get(VERIFY, params={"groups": "operators"})
    assert refused.status_code == 403
    assert refused.headers["location"] == "/auth/forbidden?groups=operators"
    assert refused.headers["cache-control"] == "no-store"
    assert "remote-user" not in refused.headers
    await admin.add_to_group(svc, "Operators", ["alice"])
    assert (await client.get(VERIFY, params={"groups": "engineers, OPERATORS"})).status_code == 200
    await admin.remove_from_group(svc, "operators", ["alice"])
    assert (await client.get(VERIFY, params={"groups": "operators"})).status_code == 403


async def test_the_group_page_says_who_is_signed_in_and_which_groups_the_app_needs(client, svc):
    """The 403 page a browser outside the group lands on names the user and the groups, status 403."""
    await signed_in_without_two_factor(client, svc)
    page = await client.get("/auth/forbidden", params={"groups": "operators,engineers"})
    assert page.status_code == 403
    assert shows(page.text, "forward.outside_group", user="alice", groups="engineers, operators")


async def test_an_account_overdue_for_two_factor_is_sent_to_set_it_up(client, svc, clock):
    """2FA required with the grace period over and 2FA off: 401 with the setup page (its Enable) in ``Location``."""
    await signed_in_without_two_factor(client, svc)
    await admin.set_policy(svc, Scope.EVERYONE, grace_days=0.01)  # 864 seconds
    assert (await client.get(VERIFY)).status_code == 200  # within the grace period
    clock.advance(865)
    refused = await client.get(VERIFY)
    assert refused.status_code == 401
    assert refused.headers["location"] == "/profile/2fa/required"
    assert "remote-user" not in refused.headers


async def test_a_policy_for_other_groups_does_not_stop_an_account(client, svc):
    """2FA required of a group the account is not in, grace over: the account still passes."""
    await signed_in_without_two_factor(client, svc)
    await add_user(svc, "bob")
    await admin.add_to_group(svc, "control-room", ["bob"])
    await admin.set_policy(svc, Scope.GROUPS, groups=["control-room"], grace_days=0)
    assert (await client.get(VERIFY)).status_code == 200
