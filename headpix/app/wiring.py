"""Assembles the application: services from settings, with the launcher the settings choose."""

from __future__ import annotations

from headpix.app.inprocess import InProcessLauncher
from headpix.services import Services, use_services
from headpix.settings import Settings, get_settings


def install_launcher(services: Services) -> Services:
    """Give services their launcher; the deployment launcher is built by the core on demand."""
    if services.settings.launcher == "inprocess":
        services.use_launcher(InProcessLauncher(services))
    return services


def build_services(settings: Settings | None = None, *, check: bool = False) -> Services:
    """The process-wide services for the CLI or the web layer; ``check`` verifies deployments."""
    services = install_launcher(Services(settings or get_settings()))
    if check and services.settings.launcher == "deployments":
        from headpix.deployment_launcher import DeploymentLauncher

        launcher = services.launcher
        if isinstance(launcher, DeploymentLauncher):
            launcher.check()
    use_services(services)
    return services
