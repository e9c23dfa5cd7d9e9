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

        # Watches follow a company when news merges a name variant into it.
        from members.watches import follows_move
        from news.events import organizations_merged

        def move_follows(sender, source_id, target_id, **kwargs):
            follows_move(source_id=source_id, target_id=target_id)

        organizations_merged.connect(move_follows, weak=False, dispatch_uid="members-follows-move")
