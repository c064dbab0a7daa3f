"""``/metrics`` of ``run.py --workers 2`` adds up what both worker processes counted, whichever one answers."""

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.auth.crypto import new_key_text
from tests.multiprocess.test_scale_doc import clients_on_two_workers
from tests.servers import PASSWORD, app_env, run_cli, serving_process, sign_in, start_server, with_pool

pytestmark = pytest.mark.multiprocess


def signins(text: str) -> dict[tuple[str, str], float]:
    """mirox_signins_total by (outcome, factor)."""
    return {
        (sample.labels["outcome"], sample.labels["factor"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mirox_signins_total"
    }


async def test_counters_of_two_workers_add_up_on_either_worker(pg_url: str, schema: str, tmp_path: Path):
    """Three sign-ins through one worker, two and a wrong password through the other: each worker's /metrics says 5 and 1."""
    if not Path("/proc/net/tcp").exists():
        pytest.skip("telling the workers apart needs Linux /proc")
    url = with_pool(pg_url, 1, 5)
    env = app_env(schema, new_key_text(), MIROX_DATA_DIR=str(tmp_path / "data"))
    run_cli("--database-url", url, "user", "add", "metrics-alice", env=env, stdin=PASSWORD + "\n")
    server = start_server("metrics", ["--workers", "2", "--database-url", url], env, tmp_path)
    server.wait_ready()
    try:
        on_x, on_y, pid_x, pid_y = await clients_on_two_workers(server)
        try:
            for _ in range(3):
                on_x.cookies.clear()  # a new browser each time, on the same kept-alive connection
                response = await sign_in(on_x, server.url, "metrics-alice")
                assert response.status_code == 303 and serving_process(server, response) == pid_x
            for _ in range(2):
                on_y.cookies.clear()
                response = await sign_in(on_y, server.url, "metrics-alice")
                assert response.status_code == 303 and serving_process(server, response) == pid_y
            on_y.cookies.clear()
            assert (await sign_in(on_y, server.url, "metrics-alice", "not the password")).status_code == 422
            answers = []
            for client, pid in ((on_x, pid_x), (on_y, pid_y)):
                response = await client.get(server.url + "/metrics")
                assert response.status_code == 200 and serving_process(server, response) == pid
                answers.append(signins(response.text))
        finally:
            await on_x.aclose()
            await on_y.aclose()
        for counted in answers:
            assert counted[("success", "password")] == 5
            assert counted[("failure", "password")] == 1
        found = re.search(r"Metrics of the worker processes are gathered in (\S+)\.", server.output())
        assert found, server.output()
        folder = Path(found.group(1))
        pids = {int(m.group(1)) for f in folder.iterdir() if (m := re.search(r"_(\d+)\.db$", f.name))}
        assert {pid_x, pid_y} <= pids
    finally:
        server.stop()
    assert not folder.exists(), "the temporary metrics folder is removed when the server stops"
