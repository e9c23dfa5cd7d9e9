"""Fails a test when a gated model instance reaches a template rendered for anyone but staff.

Masking is enforced by shape (shared/GUIDE.md, convention 3): selectors hand templates
per-viewer view objects, never a `Bulletin`, `Contact`, `Project` or `ProjectContact`,
whose title, body, name or contact fields a template edit could print unmasked. Django's
test environment sends `template_rendered` for every template rendered (pages, emails,
the live server of the browser journeys); conftest.py connects `GatingGuard` around every
test, so any view, email or feed that hands a template such an instance fails that test.

Walked: the context's values, containers, dataclasses, view objects of the project's own
modules and the relations cached on any model instance (an `AlertDelivery` with its
`bulletin` loaded would hand the template `delivery.bulletin`); a QuerySet of a gated
model counts too, without running it. Staff are exempt where a request says so (the
admin), and so are emails addressed to staff (`emails/*_staff.*`).
"""

import dataclasses
import threading

from django.core.paginator import Page
from django.db.models import Model
from django.db.models.query import QuerySet

_OWN_MODULES = ("news.", "members.", "billing.", "support.", "portal.")
_MAX_DEPTH = 6
_MAX_ITEMS = 200


def _gated_models() -> tuple[type, ...]:
    from news.models import BidResult, Bulletin, Contact, Project, ProjectContact

    return (BidResult, Bulletin, Contact, Project, ProjectContact)


def _is_staff_render(template_name: str, context) -> bool:
    if template_name.startswith("admin/") or "_staff." in template_name:
        return True
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_staff", False))


class GatingGuard:
    def __init__(self):
        self.gated = _gated_models()
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, sender, template=None, context=None, **kwargs):
        name = getattr(template, "name", None) or getattr(template, "origin", "") or ""
        name = str(name)
        try:
            flat = context.flatten() if hasattr(context, "flatten") else dict(context or {})
        except (TypeError, ValueError):
            flat = {}
        if _is_staff_render(name, flat):
            return
        found: list[str] = []
        seen: set[int] = set()
        for key, value in flat.items():
            if key in ("request", "user", "perms", "csrf_token", "view", "messages"):
                continue
            self._walk(value, key, found, seen, 0)
        if found:
            with self._lock:
                self.violations += [f"{name}: {path}" for path in found]

    def _walk(self, value, path: str, found: list, seen: set, depth: int) -> None:
        if value is None or isinstance(value, (str, bytes, int, float, bool)):
            return
        if depth > _MAX_DEPTH or id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, self.gated):
            found.append(f"{path} is a {type(value).__name__}")
            return
        if isinstance(value, QuerySet):
            if issubclass(value.model, self.gated):
                found.append(f"{path} is a QuerySet of {value.model.__name__}")
            return
        if isinstance(value, Model):
            cache = getattr(value._state, "fields_cache", {})
            for name, related in cache.items():
                self._walk(related, f"{path}.{name}", found, seen, depth + 1)
            for name, rows in getattr(value, "_prefetched_objects_cache", {}).items():
                self._walk(rows, f"{path}.{name}", found, seen, depth + 1)
            return
        if isinstance(value, Page):
            self._walk(list(value.object_list), f"{path}.object_list", found, seen, depth + 1)
            return
        if isinstance(value, dict):
            for key, item in list(value.items())[:_MAX_ITEMS]:
                self._walk(item, f"{path}[{key!r}]", found, seen, depth + 1)
            return
        if isinstance(value, (list, tuple, set, frozenset)):
            for index, item in enumerate(list(value)[:_MAX_ITEMS]):
                self._walk(item, f"{path}[{index}]", found, seen, depth + 1)
            return
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                self._walk(
                    getattr(value, field.name, None), f"{path}.{field.name}", found, seen, depth + 1
                )
            return
        module = type(value).__module__ or ""
        if module.startswith(_OWN_MODULES) and hasattr(value, "__dict__"):
            for name, item in vars(value).items():
                self._walk(item, f"{path}.{name}", found, seen, depth + 1)
