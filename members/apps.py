from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "会员"

    def ready(self):
        from members import checks  # noqa: F401  (registers the system checks)

        # Alerts follow publishing through news' event; news does not import members.
        from members.alerts import alerts_enqueue
        from news.events import bulletins_published

        def match_published(sender, bulletin_ids, **kwargs):
            alerts_enqueue(bulletin_ids)

        bulletins_published.connect(
            match_published, weak=False, dispatch_uid="members-alerts-match"
        )
