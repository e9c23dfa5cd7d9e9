"""The SMTP timeout must be shorter than an alert claim's lease.

A worker claims an instant alert for ALERT_CLAIM_LEASE_SECONDS (members.alerts), then
talks SMTP; each step (connecting, a command, the message data) waits at most the
timeout. With no timeout, or one as long as the lease, a single silent step keeps the
send going past its claim, so the sweeper hands the alert to another worker while the
first may still deliver it: a duplicate for the member. (A server that answers each step
just in time can still overrun the lease: the outcome is then recorded by the new
claimer only, see alerts_send.)"""

from django.conf import settings
from django.core import checks

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@checks.register()
def alert_smtp_timeout_check(app_configs=None, **kwargs):
    mailer = settings.MAILERS.get("default", {})
    if mailer.get("BACKEND", SMTP_BACKEND) != SMTP_BACKEND:
        return []
    timeout = mailer.get("OPTIONS", {}).get("timeout")
    lease = settings.ALERT_CLAIM_LEASE_SECONDS
    if timeout is not None and 0 < timeout < lease:
        return []
    return [
        checks.Error(
            f"the SMTP timeout ({timeout} s) is not below ALERT_CLAIM_LEASE_SECONDS "
            f"({lease} s): a silent SMTP server would keep an alert's send past its "
            "claim, and the alert would be sent twice",
            hint="set EMAIL_TIMEOUT below ALERT_CLAIM_LEASE_SECONDS (defaults: 10 and 30)",
            id="members.E001",
        )
    ]
