"""The watchdog flow (every 3 minutes): resume shoots whose run died, fail them after bounded attempts.

Parameters, names, results and logs carry shoot ids and counts only.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from headpix.services import get_services
from headpix.watchdog import check_shoots


@flow(name="watchdog", flow_run_name="watchdog", persist_result=False, log_prints=False)
def watchdog() -> dict[str, int]:
    """Look at every active shoot once; resume the stuck, fail the hopeless."""
    report = check_shoots(get_services())
    logger = get_run_logger()
    for shoot_id in report.resumed:
        logger.warning("shoot %s resumed by the watchdog", shoot_id)
    for shoot_id in report.failed:
        logger.warning("shoot %s failed: attempts spent", shoot_id)
    logger.info("watchdog: %s", report.counts())
    return report.counts()
