from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcessConfig(AppConfig):
    name = "claimwise.process"
    label = "process"
    verbose_name = _("Claim process")

    def ready(self) -> None:
        # The process reacts to every claim change inside the claim's own transaction.
        from claimwise.process import hooks  # noqa: F401
