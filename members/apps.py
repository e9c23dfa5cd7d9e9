from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "会员"

    def ready(self):
        from members import checks  # noqa: F401  (registers the system checks)
