"""A locally started Ray stays on loopback: no node address outside 127.0.0.0/8."""

import ray


def test_local_ray_registers_on_loopback(ray_local):
    for node in ray.nodes():
        assert node["NodeManagerAddress"].startswith("127."), node["NodeManagerAddress"]
    assert ray.get_runtime_context().gcs_address.startswith("127.")
