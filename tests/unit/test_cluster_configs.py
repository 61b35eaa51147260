"""Cluster definitions parse, and the launcher config passes Ray's own autoscaler schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import ray.autoscaler
import yaml

CLUSTER = Path(__file__).resolve().parents[2] / "ray_cluster"


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CLUSTER / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_launcher_config_matches_rays_schema() -> None:
    config = _load("cluster.yaml")
    schema = json.loads(
        (Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(config, schema)
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    gpu_types = [t for t in types.values() if t.get("resources", {}).get("GPU", 0) >= 1]
    assert gpu_types and all(t["max_workers"] >= t["min_workers"] for t in gpu_types)
    assert all("--include-dashboard=false" in c for c in config["head_start_ray_commands"] if "--head" in c)


def test_kuberay_manifest_has_a_gpu_worker_group() -> None:
    manifest = _load("kuberay.yaml")
    assert manifest["apiVersion"] == "ray.io/v1" and manifest["kind"] == "RayCluster"
    spec = manifest["spec"]
    assert spec["headGroupSpec"]["template"]["spec"]["containers"]
    groups = spec["workerGroupSpecs"]
    gpu = [
        g
        for g in groups
        if any(c["resources"]["limits"].get("nvidia.com/gpu") for c in g["template"]["spec"]["containers"])
    ]
    assert gpu, "a worker group must request nvidia.com/gpu"
    for group in gpu:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        for container in group["template"]["spec"]["containers"]:
            assert spec["rayVersion"] in container["image"]
