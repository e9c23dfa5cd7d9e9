from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = "在线支付"

    def ready(self):
        from billing import checks  # noqa: F401  (registers the system checks)
