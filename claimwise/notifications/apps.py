from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "claimwise.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Messages follow claim changes, deadline events and staff alerts inside their transactions.
        from claimwise.notifications import hooks  # noqa: F401
