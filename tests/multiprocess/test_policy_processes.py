"""The two-factor policy across processes: a change an administrator makes is seen at once by every server."""

import pytest

from tests.multiprocess.conftest import Cluster
from tests.servers import browser, run_cli, session_cookie, sign_in

pytestmark = pytest.mark.multiprocess

SETUP = "/profile/2fa/required"


def admin(cluster: Cluster, *args: str) -> None:
    """``python run.py ARGS`` against the cluster's database, as an administrator would."""
    done = run_cli("--database-url", cluster.database_url, *args, env=cluster.env)
    assert done.returncode == 0, done.stderr


async def test_a_policy_change_is_seen_at_once_by_a_second_process(cluster: Cluster):
    """After ``policy require-2fa`` one session is confined on A and on B at its next request; ``policy off`` frees it on both."""
    cluster.add_user("carol")
    a, b = cluster.a.url, cluster.b.url
    async with browser() as on_a:
        assert (await sign_in(on_a, a, "carol")).status_code == 303
        async with browser(cookies={"mirox_session": session_cookie(on_a)}) as on_b:
            for client, url in ((on_a, a), (on_b, b)):
                assert (await client.get(url + "/profile")).status_code == 200  # both have served this account
            admin(cluster, "group", "add", "control-room", "carol")
            admin(cluster, "policy", "require-2fa", "--groups", "control-room", "--grace-days", "0")
            for client, url in ((on_a, a), (on_b, b)):
                confined = await client.get(url + "/profile")
                assert confined.status_code == 303 and confined.headers["location"] == SETUP
            admin(cluster, "policy", "require-2fa", "--groups", "control-room", "--grace-days", "7")
            for client, url in ((on_a, a), (on_b, b)):
                due = await client.get(url + "/profile")
                assert due.status_code == 200 and 'class="policy-banner"' in due.text
            admin(cluster, "policy", "off")
            for client, url in ((on_a, a), (on_b, b)):
                free = await client.get(url + "/profile")
                assert free.status_code == 200 and 'class="policy-banner"' not in free.text
