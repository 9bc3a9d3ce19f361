from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "claimwise.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from claimwise.core.checks import refuse_demo_secrets_in_production

        refuse_demo_secrets_in_production()
