from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    name = "claimwise.workbench"
    verbose_name = _("Staff workbench")

    def ready(self) -> None:
        # django-otp registers a plain admin for TOTP devices: it would show device keys and write
        # without the audited services. Devices are managed on the workbench's own pages.
        from django.contrib import admin
        from django_otp.plugins.otp_totp.models import TOTPDevice

        if admin.site.is_registered(TOTPDevice):
            admin.site.unregister(TOTPDevice)
