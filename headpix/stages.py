"""The photoshoot's stages as plain functions of (services, shoot id); Prefect tasks wrap them.

Each stage is idempotent: it reads where the shoot stands from the database and does only
what is missing, so a resumed shoot never retrains a finished model or mails twice.
Return values are counts only: they may end up in Prefect's result storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from headpix import analytics, gallery, intake_stage, personal
from headpix.identity_objects import drop, drop_strays, recorded, stop_if_ended
from headpix.intake.identity import template_from_crops
from headpix.likeness import LikenessSummary, likeness_policy, median, summarise
from headpix.outbox import enqueue
from headpix.outbox_batches import dispatch_like
from headpix.purge import purge_originals
from headpix.services import Services
from headpix.settings import TINY_MODEL, TINY_XL_MODEL
from headpix.shoots import S, advance, enter_stage, load_shoot
from headpix.storage import Keys
from ray_cluster.jobs import GenerateJob, RenderRequest, TrainJob, TrainRecipe, default_steps
from schemas.api import Gender
from schemas.models import (
    Headshot,
    IdentityModel,
    Photoshoot,
    new_id,
    utcnow,
)

log = logging.getLogger(__name__)

TINY_RESOLUTION = 64
# The tiny random-weight model renders noise whatever it learns; spend seconds, not minutes.
TINY_DEFAULT_STEPS = 60
IDENTITY_TOKEN = "sks"  # DreamBooth's rare token (Ruiz et al., 2023)


@dataclass(frozen=True)
class TrainOutcome:
    steps: int
    first_loss: float
    final_loss: float
    losses: tuple[float, ...]
    reused: bool


def _record_compute(shoot: Photoshoot, stage: str, seconds: float, node_id: str = "") -> None:
    times = dict(shoot.compute_seconds or {})
    times[stage] = round(times.get(stage, 0.0) + seconds, 3)
    shoot.compute_seconds = times
    if node_id:  # which Ray node ran the stage, by id, for the operator's artifact
        shoot.placement = {**(shoot.placement or {}), stage: node_id}


def validate(services: Services, shoot_id: str) -> tuple[int, int, bool]:
    """Check every original; store crops of accepted ones. Returns (accepted, rejected, set_ok)."""
    return intake_stage.validate_shoot(services, shoot_id)


def _train_resolution(services: Services) -> int:
    # The tiny random-weight models are trained at their native size; real ones at the setting.
    if services.settings.base_model in (TINY_MODEL, TINY_XL_MODEL):
        return TINY_RESOLUTION
    return services.settings.train_resolution


def _placing(
    services: Services, shoot_id: str, on_progress: Callable[[int, int, float], None]
) -> Callable[[int, int, float], None]:
    """Record the training node on the shoot's row as soon as it is known (operators, fault tests)."""
    placed = ""

    def report(step: int, total: int, loss: float) -> None:
        nonlocal placed
        node = services.pool.node_running(shoot_id)
        if node and node != placed:
            with services.db.session() as session:
                shoot = load_shoot(session, shoot_id)
                shoot.placement = {**(shoot.placement or {}), "train": node}
            placed = node
        on_progress(step, total, loss)

    return report


def train(
    services: Services, shoot_id: str, on_progress: Callable[[int, int, float], None] | None = None
) -> TrainOutcome:
    """Train the customer's identity LoRA on a warm Ray actor, once per shoot.

    ``on_progress(step, total, loss)`` is called in this thread while the actor trains.
    """
    settings = services.settings
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        existing = session.scalar(select(IdentityModel).where(IdentityModel.shoot_id == shoot_id))
        if existing is not None:
            reused = TrainOutcome(existing.steps, existing.first_loss, existing.final_loss, (), True)
            customer_id, model_id = shoot.customer_id, existing.id
    if existing is not None:
        drop_strays(services, customer_id, shoot_id, keep=model_id)
        return reused
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        enter_stage(shoot, S.training)
        crops = [p.crop_key for p in shoot.photos if p.verdict == "accepted" and p.crop_key]
        class_word = Gender(shoot.customer.gender).class_word
        model_id = new_id()
        customer_id = shoot.customer_id
        weights_key = Keys.identity_model(shoot.customer_id, shoot.id, model_id)
        seed = shoot.seed
    tiny = settings.base_model in (TINY_MODEL, TINY_XL_MODEL)
    steps = settings.train_steps or (TINY_DEFAULT_STEPS if tiny else default_steps(len(crops)))
    job = TrainJob(
        job_id=shoot_id,
        storage=services.storage_spec_for(customer_id),
        crop_keys=tuple(crops),
        identity_prompt=f"a photo of {IDENTITY_TOKEN} {class_word}",
        class_prompt=f"a photo of a {class_word}",
        output_key=weights_key,
        recipe=TrainRecipe(steps=steps, resolution=_train_resolution(services), seed=seed),
    )
    # The reference face is computed from the crops (they exist until the purge that follows
    # training) here, while the actor trains, and stored sealed beside the model afterwards.
    side = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"reference-{shoot_id[:8]}")
    try:
        reference = side.submit(lambda: template_from_crops([services.store.get(key) for key in crops]))
        if on_progress is None:
            result = services.pool.train(job)
        else:
            result = services.pool.train_reporting(job, _placing(services, shoot_id, on_progress))
        stop_if_ended(services, shoot_id, weights_key)
        try:
            template = reference.result()
        except Exception:
            stop_if_ended(services, shoot_id, weights_key)  # cancelled meanwhile: its crops are gone
            raise
        if template is not None:
            services.store.put(Keys.reference_template(customer_id, shoot_id, model_id), template.to_bytes())
        del template
        with services.db.session() as session:
            _record_compute(load_shoot(session, shoot_id), "train", result.seconds, result.node_id)
            session.add(
                IdentityModel(
                    id=model_id,
                    shoot_id=shoot_id,
                    weights_key=weights_key,
                    base_model=settings.base_model,
                    steps=result.steps,
                    first_loss=result.losses[0],
                    final_loss=result.losses[-1],
                )
            )
    except BaseException:
        # This attempt's objects were never recorded (its run failed, or a concurrent run of the
        # same shoot, resumed by the watchdog, recorded first): they go; no one else's.
        if not recorded(services, model_id):
            drop(services, shoot_id, [weights_key, Keys.reference_template(customer_id, shoot_id, model_id)])
        raise
    finally:
        side.shutdown(wait=False)  # a failed training does not wait for the template
    drop_strays(services, customer_id, shoot_id, keep=model_id)
    return TrainOutcome(result.steps, result.losses[0], result.losses[-1], tuple(result.losses), False)


def generate(services: Services, shoot_id: str) -> int:
    """Render every planned headshot not yet rendered; returns how many exist afterwards."""
    from headpix.styles import plan_renders

    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        rendered = bool(shoot.headshots) and all(h.rendered_at is not None for h in shoot.headshots)
        if shoot.status == S.delivering.value and rendered:
            return len(shoot.headshots)  # resumed after a crash while delivering: nothing to render
        enter_stage(shoot, S.generating)
        model = session.scalar(select(IdentityModel).where(IdentityModel.shoot_id == shoot_id))
        if model is None:
            raise RuntimeError(f"shoot {shoot_id} has no identity model; resume it to retrain")
        if not shoot.headshots:
            plans = plan_renders(
                list(shoot.styles),
                personal.preferences_of(services.keys, shoot.customer),
                identity_token=IDENTITY_TOKEN,
                class_word=Gender(shoot.customer.gender).class_word,
                images_per_style=shoot.images_per_style,
                base_seed=shoot.seed,
            )
            for ordinal, plan in enumerate(plans):
                headshot = Headshot(
                    shoot_id=shoot_id,
                    ordinal=ordinal,
                    style=plan.style,
                    seed=plan.seed,
                    key="",
                )
                personal.seal_prompts(
                    services.keys,
                    shoot.customer_id,
                    headshot,
                    prompt=plan.prompt,
                    negative=plan.negative_prompt,
                )
                session.add(headshot)
                session.flush()
                headshot.key = Keys.headshot(shoot.customer_id, shoot_id, headshot.id)
            session.flush()
            session.refresh(shoot)
        pending = [h for h in shoot.headshots if h.rendered_at is None]
        renders = tuple(
            RenderRequest(
                h.id, h.style, *personal.prompts_of(services.keys, shoot.customer_id, h), h.seed, h.key
            )
            for h in pending
        )
        total = len(shoot.headshots)
        lora_key = model.weights_key
        customer_id = shoot.customer_id
        template_key = Keys.reference_template(customer_id, shoot_id, model.id)
    if renders:
        # In memory for the job, like the LoRA; a shoot trained before templates is not scored.
        template = services.store.get(template_key) if services.store.exists(template_key) else None
        job = GenerateJob(
            job_id=shoot_id,
            storage=services.storage_spec_for(customer_id),
            lora_key=lora_key,
            renders=renders,
            inference_steps=services.settings.inference_steps,
            batch_size=services.settings.images_per_style,
            reference_template=template,
            likeness=likeness_policy(services.settings),
        )
        result = services.pool.generate(job)
        del job, template
        with services.db.session() as session:
            shoot = load_shoot(session, shoot_id)
            _record_compute(shoot, "generate", result.seconds, result.node_id)
            now = utcnow()
            outcome = zip(result.seeds, result.likeness, strict=True)
            scored = dict(zip(result.headshot_ids, outcome, strict=True))
            for headshot in shoot.headshots:
                if headshot.id in result.headshot_ids:
                    headshot.rendered_at = now
                if headshot.id in scored:
                    headshot.seed, headshot.likeness = scored[headshot.id]
            shoot.likeness_median = median([h.likeness for h in shoot.headshots])
    return total


def likeness_summary(services: Services, shoot_id: str) -> LikenessSummary:
    """The shoot's likeness scores (ids and numbers only), for operators."""
    with services.db.session() as session:
        return summarise(load_shoot(session, shoot_id), services.settings)


def stop(services: Services, shoot_id: str, status: S, detail: str) -> None:
    """End a shoot for good (failed or cancelled), queue the customer's notice, purge originals."""
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        if shoot is None:  # erased: nothing left to stop, purge or tell
            return
        if status is S.failed and services.fences.is_fenced(shoot.customer_id):
            status, detail = S.cancelled, "Cancelled: the customer asked for erasure."
        if shoot.status not in (S.failed.value, S.cancelled.value, S.delivered.value):
            advance(shoot, status, detail=detail or shoot.status_detail)
            if status is S.failed:
                analytics.count(session, "shoot_failed", utcnow())
        if status is S.failed:
            keys = services.keys
            enqueue(
                session,
                keys,
                dedup_key=f"failed:{shoot_id}",
                kind="shoot_failed",
                customer_id=shoot.customer_id,
                ref_id=shoot_id,
                to=personal.email_of(keys, shoot.customer),
                subject="Your Headpix photoshoot could not be completed",
                body=gallery.failure_body(personal.name_of(keys, shoot.customer), shoot.status_detail),
            )
    purge_originals(services, shoot_id)
    dispatch_like(services, f"failed:{shoot_id}")
