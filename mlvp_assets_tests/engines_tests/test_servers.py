"""What the engine tests start is stopped when a test fails: no process of the cluster is left."""

from __future__ import annotations

import pytest

from mlvp_assets_tests.engines_tests.servers import running_standalone_cluster
from mlvp_assets_tests.server_processes import running_members

pytestmark = pytest.mark.engines


def test_a_failing_test_leaves_no_process_of_the_cluster_behind(tmp_path):
    groups: list[int] = []
    with (
        pytest.raises(RuntimeError, match="the test failed"),
        running_standalone_cluster(tmp_path) as cluster,
    ):
        groups = [item.process.pid for item in cluster.started]
        assert cluster.state()["aliveworkers"] == 1
        raise RuntimeError("the test failed")
    assert len(groups) == 2
    assert {pgid: running_members(pgid) for pgid in groups} == {pgid: [] for pgid in groups}
