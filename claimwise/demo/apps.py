from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data and the one-command demo; depends on every domain app, nothing depends on it."""

    name = "claimwise.demo"
    label = "demo"
    verbose_name = _("Demo")
