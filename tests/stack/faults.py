"""Checks of a shoot's ending on the stack after a fault (tests/stack/test_faults.py).

Every check reads the stack's own stores: PostgreSQL rows, moto's S3 server (directly, not
through the fault proxy), the mail recorder and the Prefect API.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.fixtures_stack import Stack
from tests.stack.scenarios import NAME, _engine

TERMINAL = ("delivered", "failed", "cancelled")


def mails_to(stack: Stack, email: str, word: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.mail()
        if any(to.get("email") == email for p in m.get("personalizations", []) for to in p.get("to", []))
        and word in str(m.get("subject", ""))
    ]


def ending(stack: Stack, shoot_id: str) -> dict[str, Any]:
    """The shoot's status and customer message, its customer id, and its rows' state."""
    with _engine(stack).connect() as conn:
        shoot = conn.execute(
            sa.text("select status, status_detail, customer_id from photoshoots where id = :id"),
            {"id": shoot_id},
        ).one()
        photos = conn.execute(
            sa.text(
                "select count(*) filter (where original_key is not null or crop_key is not null) "
                "from original_photos where shoot_id = :id"
            ),
            {"id": shoot_id},
        ).scalar_one()
        headshots = conn.execute(
            sa.text("select key, rendered_at is not null from headshots where shoot_id = :id"),
            {"id": shoot_id},
        ).all()
        models = conn.execute(
            sa.text("select weights_key from identity_models where shoot_id = :id"), {"id": shoot_id}
        ).all()
    return {
        "status": shoot.status,
        "detail": shoot.status_detail,
        "customer_id": shoot.customer_id,
        "photos_with_keys": photos,
        "rendered": {key for key, done in headshots if done},
        "unrendered": {key for key, done in headshots if not done},
        "models": {key for (key,) in models},
    }


def s3_client(stack: Stack) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{stack.state.ports['s3']}",  # moto itself, past the proxy
        aws_access_key_id="stack",
        aws_secret_access_key="stack-secret",
        region_name="us-east-1",
    )


def stored(stack: Stack, customer_id: str, shoot_id: str) -> dict[str, list[str]]:
    """Every object version under the shoot's prefix, by folder (originals, crops, headshots, …)."""
    from headpix.app.stack.layout import BUCKET

    prefix = f"objects/customers/{customer_id}/shoots/{shoot_id}/"
    found: dict[str, list[str]] = {}
    page = s3_client(stack).list_object_versions(Bucket=BUCKET, Prefix=prefix)
    for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
        relative = item["Key"][len(prefix) :]
        found.setdefault(relative.split("/", 1)[0], []).append(relative)
    return found


def check_nothing_half_written(stack: Stack, shoot_id: str) -> dict[str, Any]:
    """Originals gone after a terminal ending; every stored headshot or model has its finished
    row and every finished row its object; no photo row still points at bytes."""
    end = ending(stack, shoot_id)
    assert end["status"] in TERMINAL, end
    objects = stored(stack, end["customer_id"], shoot_id)
    assert not objects.get("originals"), f"original bytes left: {objects.get('originals')}"
    assert not objects.get("crops"), f"crops left: {objects.get('crops')}"
    assert end["photos_with_keys"] == 0, "a photo row still names stored bytes"
    prefix = f"customers/{end['customer_id']}/shoots/{shoot_id}/"
    headshot_objects = {prefix + k for k in objects.get("headshots", [])}
    assert headshot_objects == end["rendered"], (
        f"headshot objects and rendered rows differ: objects without a finished row "
        f"{sorted(headshot_objects - end['rendered'])}, finished rows without an object "
        f"{sorted(end['rendered'] - headshot_objects)}"
    )
    model_objects = {prefix + k for k in objects.get("identity", []) if k.endswith(".safetensors")}
    assert model_objects == end["models"], (model_objects, end["models"])
    return end


def prefect_texts(stack: Stack, shoot_id: str) -> str:
    """What operators see of the shoot's runs in Prefect: run names, parameters, state messages,
    task runs, logs and artifacts, as one text."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings

    parts: list[str] = []
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"photoshoot-{shoot_id}"]))
        )
        assert runs, f"no photoshoot run of shoot {shoot_id} in Prefect"
        ids = [run.id for run in runs]
        for run in runs:
            parts += [run.name, repr(run.parameters), (run.state.message if run.state else "") or ""]
            parts += [st.message or "" for st in client.read_flow_run_states(run.id)]
        for task_run in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))):
            parts += [task_run.name, (task_run.state.message if task_run.state else "") or ""]
        offset = 0
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)), limit=200, offset=offset
            )
            parts += [log.message for log in logs]
            if len(logs) < 200:
                break
            offset += 200
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids))
        )
        parts += [f"{a.key} {a.description} {a.data}" for a in artifacts]
    return "\n".join(str(p) for p in parts)


def check_nothing_personal_in_prefect(stack: Stack, shoot_id: str, email: str) -> str:
    end = ending(stack, shoot_id)
    text = prefect_texts(stack, shoot_id)
    local = email.split("@", 1)[0]
    for forbidden in (NAME, *NAME.split(), email, local, end["customer_id"]):
        assert forbidden.lower() not in text.lower(), f"Prefect shows {forbidden!r} for shoot {shoot_id}"
    return text
