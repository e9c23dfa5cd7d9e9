import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from members.unsubscribe_mailbox import Handler


class Command(BaseCommand):
    help = "Receive unsubscribe mail for ALERTS_UNSUBSCRIBE_MAILBOX (mailto: List-Unsubscribe)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args, host, port, **options):
        from aiosmtpd.controller import Controller

        if not settings.ALERTS_UNSUBSCRIBE_MAILBOX:
            raise CommandError("ALERTS_UNSUBSCRIBE_MAILBOX is not set: there is no mailbox to run")
        controller = Controller(Handler(), hostname=host, port=port)
        controller.start()
        self.stdout.write(
            f"unsubscribe mailbox {settings.ALERTS_UNSUBSCRIBE_MAILBOX} on {host}:{port}"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
