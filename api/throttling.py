from rest_framework.throttling import SimpleRateThrottle

from members.access import member_rights

DEFAULT_RATE = "60/min"


class PlanRateThrottle(SimpleRateThrottle):
    """Requests per member per period, read from their plan (Plan.api_rate): the rate is
    data staff edit, not a setting. Counted in the shared cache (Redis in production)."""

    scope = "plan"

    def __init__(self):
        pass  # the rate depends on the request's member: set in allow_request

    def allow_request(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return True  # refused by authentication / permission instead
        self.rate = member_rights(request.user).api_rate or DEFAULT_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
