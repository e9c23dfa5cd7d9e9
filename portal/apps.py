from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "站点"

    def ready(self):
        from portal import checks  # noqa: F401  (registers the deploy check)
