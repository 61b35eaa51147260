"""Policy notices: one email per customer for a published policy version, exactly once."""

from __future__ import annotations

from prefect import flow

from tasks.retention import send_policy_notices


@flow(name="policy-notices", flow_run_name="policy-notices-{version}", persist_result=False)
def policy_notices(version: str) -> int:
    """Tell every customer about a new policy version; re-running sends nothing new."""
    return send_policy_notices(version)
