"""The operator's view, checked: a photoshoot run in the Prefect UI, in headless Chromium, offline.

Debian's chromium is driven by Python playwright (never `playwright install`). Every request
to a host other than loopback is aborted and recorded: the check fails if there was any.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from headpix.app.stack.layout import StackLayout, StackState

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--no-sandbox"]
STAGES = ("validate", "train", "generate", "deliver", "purge")
LOOPBACK = {"127.0.0.1", "localhost"}


@dataclass
class UiCheck:
    url: str
    screenshot: str = ""
    run_name_shown: bool = False
    stages_shown: list[str] = field(default_factory=list)
    artifact_shown: bool = False
    forbidden_shown: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return (
            not self.error
            and self.run_name_shown
            and set(self.stages_shown) >= {"validate", "train", "generate"}
            and self.artifact_shown
            and not self.forbidden_shown
            and not self.outside_requests
        )

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"UI check {verdict}: {self.url}\n  run name shown: {self.run_name_shown}; "
            f"stages: {', '.join(self.stages_shown) or '-'}; artifact: {self.artifact_shown}\n"
            f"  forbidden text shown: {len(self.forbidden_shown)}; requests beyond loopback: "
            f"{len(self.outside_requests)}\n  screenshot: {self.screenshot}"
            + (f"\n  error: {self.error}" if self.error else "")
        )


def flow_run_id_of(state: StackState, shoot_id: str) -> str:
    """The shoot's latest photoshoot run, asked of the Prefect API (ids only)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = f"http://127.0.0.1:{state.ports['prefect']}/api"
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"photoshoot-{shoot_id}"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    if not runs:
        raise LookupError(f"no photoshoot run of shoot {shoot_id} on {api}")
    return str(runs[0].id)


def check_run_page(
    layout: StackLayout, state: StackState, shoot_id: str, *, forbidden: list[str], timeout_ms: int = 60_000
) -> UiCheck:
    """Open the run page; look for its name, its stages, its artifact; look for forbidden text."""
    from playwright.sync_api import Route, sync_playwright

    run_id = flow_run_id_of(state, shoot_id)
    url = f"http://127.0.0.1:{state.ports['prefect']}/flow-runs/flow-run/{run_id}"
    result = UiCheck(url=url)
    layout.screenshots.mkdir(parents=True, exist_ok=True)
    shot = layout.screenshots / f"photoshoot-run-{shoot_id}.png"

    def only_loopback(route: Route) -> None:
        request_url = route.request.url
        host = urlparse(request_url).hostname
        if request_url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            result.outside_requests.append(request_url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.route("**/*", only_loopback)
            page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
            texts = []
            try:
                page.get_by_text(f"photoshoot-{shoot_id}").first.wait_for(timeout=timeout_ms)
                result.run_name_shown = True
                page.wait_for_timeout(3000)  # the graph draws after the run's data arrives
                page.screenshot(path=str(shot), full_page=True)
                result.screenshot = str(shot)
                texts.append(page.inner_text("body"))
                texts.append(_tab_text(page, "Task Runs"))
                texts.append(_tab_text(page, "Artifacts"))
            except Exception as error:
                result.error = f"{type(error).__name__}: {str(error)[:300]}"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(shot), full_page=True)
                    result.screenshot = str(shot)
            text = "\n".join(texts)
            result.stages_shown = [s for s in STAGES if s in text]
            result.artifact_shown = f"photoshoot-{shoot_id}" in texts[-1] if len(texts) == 3 else False
            html = "\n".join([text, page.content()])
            result.forbidden_shown = [f for f in forbidden if f and f.lower() in html.lower()]
        finally:
            browser.close()
    return result


def _tab_text(page: object, tab: str) -> str:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.get_by_text(tab, exact=True).first.click(timeout=15_000)
    page.wait_for_timeout(2500)
    return page.inner_text("body")


def copy_screenshot(result: UiCheck, target: Path) -> None:
    if result.screenshot:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(result.screenshot).read_bytes())
