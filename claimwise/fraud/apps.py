from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FraudConfig(AppConfig):
    name = "claimwise.fraud"
    label = "fraud"
    verbose_name = _("Fraud and risk")

    def ready(self) -> None:
        # Claims are scored at report time and whenever their facts change.
        from claimwise.fraud import hooks  # noqa: F401
