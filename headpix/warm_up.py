"""Joining the Ray cluster in the background, from the start of a flow run.

A flow-run process starts cold, and its training stage used to begin by joining the cluster
(about 0.7 s on these cores, most of it waiting on the cluster). Nothing in the run's thread
has to wait for that: the join starts with the run, beside its bookkeeping, the reading of the
originals and the validation, and the training stage finds the pool ready.

Only a configured cluster is joined early: the embedded default starts a local Ray when a
shoot first trains, and a shoot refused at validation never starts one. Loading the face
models early as well was measured and dropped: loading holds the interpreter's lock, so the
run's own thread lost what validation gained.

A failure here is only logged, by its type: the training stage meets the same error again,
with its own message and retry policy.
"""

from __future__ import annotations

import logging
import threading

from headpix.services import Services

log = logging.getLogger(__name__)


def _join(services: Services) -> None:
    try:
        _ = services.pool
    except Exception as error:  # the stage reports it; these errors' types carry nothing personal
        log.info("joining the Ray cluster early failed (%s); training will retry", type(error).__name__)


def join_cluster_early(services: Services) -> threading.Thread | None:
    """Join the configured Ray cluster in a daemon thread (returned), or do nothing."""
    if not services.settings.ray_address:
        return None
    thread = threading.Thread(target=_join, args=(services,), name="join Ray cluster", daemon=True)
    thread.start()
    return thread
