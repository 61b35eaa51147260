"""Prefect tasks of the retention sweep and policy notices: thin shells returning counts only."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from headpix import compliance, policy, retention
from headpix.services import get_services


@task(name="sweep-category", retries=2, retry_delay_seconds=10, persist_result=False)
def sweep_category(name: str, as_of: datetime) -> int:
    """Run one sweep category as of the given time; returns how many items it handled."""
    function = dict(retention.CATEGORIES)[name]
    done = function(get_services(), as_of)
    get_run_logger().info("%s: %d", name, done)
    return done


@task(name="count-overdue", persist_result=False)
def count_overdue(as_of: datetime) -> int:
    """Erasures past 14 days from confirmation (time under a legal hold not counted)."""
    return retention.overdue_erasures(get_services(), as_of)


@task(name="publish-compliance-report", persist_result=False)
def publish_report(as_of: datetime, sweep: dict[str, int], failed: dict[str, str] | None = None) -> int:
    """Leave the compliance report as a table and a markdown artifact; returns the overdue count."""
    report = compliance.build_report(get_services(), as_of)
    report.sweep = sweep
    report.failed_categories = dict(failed or {})
    create_table_artifact(
        key="compliance-report", table=report.table(), description=f"Compliance as of {report.as_of}"
    )
    create_markdown_artifact(key="compliance-summary", markdown=report.markdown())
    return report.overdue


@task(name="send-policy-notices", retries=2, retry_delay_seconds=10, persist_result=False)
def send_policy_notices(version: str) -> int:
    """Email every customer the notice of one policy version, once."""
    sent = policy.send_notices(get_services(), version)
    get_run_logger().info("policy %s: %d notices sent", version, sent)
    return sent
