from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Portal account. Own model from day one so later issues can add fields freely."""

    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    company = models.CharField(_("公司名称"), max_length=200, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        swappable = "AUTH_USER_MODEL"
