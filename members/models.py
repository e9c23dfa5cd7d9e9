from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Portal account; allauth signs members up by email (the username is generated)."""

    real_name = models.CharField(_("真实姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    company = models.CharField(_("公司名称"), max_length=200, blank=True)
    position = models.CharField(_("职务"), max_length=50, blank=True)
    regions_of_interest = models.ManyToManyField(
        "news.Region", verbose_name=_("关注地区"), blank=True, related_name="+"
    )
    categories_of_interest = models.ManyToManyField(
        "news.Category", verbose_name=_("关注分类"), blank=True, related_name="+"
    )
    # SMS alerts go only to a number the member confirmed with a code, and only if opted in.
    sms_phone = models.CharField(_("短信提醒手机号"), max_length=32, blank=True)
    sms_verified_at = models.DateTimeField(_("手机号验证时间"), null=True, blank=True)
    sms_alerts = models.BooleanField(_("短信即时提醒"), default=False)

    PROFILE_FIELDS = (
        "real_name",
        "company",
        "position",
        "phone",
        "regions_of_interest",
        "categories_of_interest",
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        swappable = "AUTH_USER_MODEL"

    def __str__(self):
        return self.email or self.username


class Plan(models.Model):
    """A membership level. Its rights are data staff edit, not code."""

    name = models.CharField(_("名称"), max_length=30, unique=True)
    slug = models.SlugField(_("标识"), max_length=30, unique=True)
    yearly_price_fen = models.PositiveIntegerField(_("年费(分)"), default=0)
    sees_contacts = models.BooleanField(_("可查看联系方式"), default=False)
    daily_reveal_quota = models.PositiveIntegerField(
        _("每日查看联系方式条数"), default=0, help_text=_("每天可查看联系方式的标讯条数")
    )
    # Who won is public; every bidder's rank, price and duration (开标结果) is paid detail.
    sees_bid_results = models.BooleanField(_("可查看完整开标结果"), default=False)
    # 企业库: amounts, regions, buyers and competitors on company pages (counts are public);
    # watching a company (竞争对手 / 客户) for alerts.
    sees_company_profiles = models.BooleanField(_("可查看企业分析"), default=False)
    watches_companies = models.BooleanField(_("可关注企业"), default=False)
    saved_search_limit = models.PositiveSmallIntegerField(_("可保存订阅数"), default=0)
    instant_alerts = models.BooleanField(_("即时提醒"), default=False)
    # Every plan, the free one included, may get a daily/weekly digest of its saved
    # searches' matches; the free plan's is short and masked (members.alerts).
    digest_alerts = models.BooleanField(_("邮件汇总提醒"), default=True)
    digest_item_limit = models.PositiveIntegerField(
        _("每封汇总最多条数"),
        default=0,
        help_text=_("0 表示不限;超出的标讯只在邮件中说明条数,不再补发"),
    )
    # Exports and the API (issue 19): 0 rows / no access on the free plan.
    export_rows_limit = models.PositiveIntegerField(
        _("每次导出最多条数"), default=0, help_text=_("0 表示不能导出")
    )
    api_access = models.BooleanField(_("数据接口(API)"), default=False)
    api_rate = models.CharField(
        _("接口频率上限"),
        max_length=20,
        blank=True,
        help_text=_("如 60/min、1000/hour、5000/day;留空为 60/min"),
        validators=[
            RegexValidator(
                r"^[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)$",
                _("格式应为 次数/时间单位,如 60/min、1000/hour"),
            )
        ],
    )
    # More than one seat makes a team plan (企业会员): the subscriber owns a team whose
    # members share these rights and one daily reveal quota (members.teams).
    seats = models.PositiveSmallIntegerField(
        _("账号数"), default=1, help_text=_("大于 1 即为企业会员:含开通者在内可使用的账号数")
    )
    description = models.TextField(_("说明"), blank=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_offered = models.BooleanField(_("对外销售"), default=True)

    class Meta:
        verbose_name = _("会员套餐")
        verbose_name_plural = _("会员套餐")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    @property
    def yearly_price_yuan(self) -> str:
        yuan, fen = divmod(self.yearly_price_fen, 100)
        return f"{yuan:,}" + (f".{fen:02d}" if fen else "")


class SubscriptionQuerySet(models.QuerySet):
    def current(self, on=None):
        """Periods in force on a day: lapse and early end take effect with no job run."""
        day = on or timezone.localdate()
        return self.filter(starts_on__lte=day, ends_on__gte=day).exclude(
            status=Subscription.Status.ENDED
        )


class Subscription(models.Model):
    """One paid period. Renewals are new rows, so the history is never overwritten."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        EXPIRED = "expired", _("已到期")
        ENDED = "ended", _("已提前终止")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("套餐"), on_delete=models.PROTECT, related_name="subscriptions"
    )
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), help_text=_("含当天"))
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("开通人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    order_reference = models.CharField(_("订单号"), max_length=64, blank=True)
    amount_paid_fen = models.PositiveIntegerField(_("实收金额(分)"), default=0)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("开通时间"), auto_now_add=True)
    ended_at = models.DateTimeField(_("终止时间"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("终止人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    end_reason = models.CharField(_("终止原因"), max_length=200, blank=True)
    # Reminders are sent once each: the job claims a row by setting these.
    reminded_7_at = models.DateTimeField(_("7天提醒时间"), null=True, blank=True)
    reminded_1_at = models.DateTimeField(_("1天提醒时间"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("会员开通记录")
        verbose_name_plural = _("会员开通记录")
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["user", "ends_on"], name="subscription_user_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="subscription_dates_order"
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.plan} · {self.starts_on}–{self.ends_on}"


class MembershipApplication(models.Model):
    """An online request to buy a plan; the hotline team calls back."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        CONTACTED = "contacted", _("已联系")
        CLOSED = "closed", _("已办结")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
    )
    name = models.CharField(_("姓名"), max_length=50)
    company = models.CharField(_("公司名称"), max_length=200)
    mobile = models.CharField(_("手机号"), max_length=32)
    plan = models.ForeignKey(Plan, verbose_name=_("意向套餐"), null=True, on_delete=models.SET_NULL)
    message = models.TextField(_("留言"), blank=True, max_length=2000)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    staff_note = models.CharField(_("处理备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("会员申请")
        verbose_name_plural = _("会员申请")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} · {self.company}"


class ContactReveal(models.Model):
    """A member's first view of a bulletin's contacts on a day: counted against the quota."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        on_delete=models.CASCADE,
        related_name="contact_reveals",
    )
    # A bulletin's contacts or a project's (exactly one of the two).
    bulletin = models.ForeignKey(
        "news.Bulletin",
        verbose_name=_("标讯"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    project = models.ForeignKey(
        "news.Project",
        verbose_name=_("项目"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    day = models.DateField(_("日期"))
    revealed_at = models.DateTimeField(_("查看时间"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    # Set when the member's rights came from a team plan: the team's seats share one
    # daily quota, counted on this column.
    team = models.ForeignKey(
        "members.Team",
        verbose_name=_("企业团队"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reveals",
    )

    class Meta:
        verbose_name = _("联系方式查看记录")
        verbose_name_plural = _("联系方式查看记录")
        ordering = ["-revealed_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day", "bulletin"], name="reveal_once_per_day")
        ]
        indexes = [
            models.Index(
                fields=["team", "day"], name="reveal_team_day", condition=Q(team__isnull=False)
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.bulletin_id} · {self.day}"


class SavedSearch(models.Model):
    """标讯定制: what a member wants to hear about, matched against every new bulletin."""

    class Frequency(models.TextChoices):
        INSTANT = "instant", _("即时提醒")
        DAILY = "daily", _("每日汇总")
        WEEKLY = "weekly", _("每周汇总")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        on_delete=models.CASCADE,
        related_name="saved_searches",
    )
    name = models.CharField(_("订阅名称"), max_length=60)
    query = models.CharField(
        _("关键词"),
        max_length=100,
        blank=True,
        help_text=_('多个词用空格分隔;"引号"精确匹配;-词 排除'),
    )
    title_only = models.BooleanField(_("仅匹配标题"), default=False)
    regions = models.ManyToManyField("news.Region", verbose_name=_("地区"), blank=True)
    categories = models.ManyToManyField("news.Category", verbose_name=_("分类"), blank=True)
    stages = models.JSONField(_("项目阶段"), default=list, blank=True)
    amount_min_yuan = models.BigIntegerField(_("金额下限(元)"), null=True, blank=True)
    amount_max_yuan = models.BigIntegerField(_("金额上限(元)"), null=True, blank=True)
    frequency = models.CharField(
        _("提醒方式"), max_length=10, choices=Frequency.choices, default=Frequency.DAILY
    )
    digest_hour = models.PositiveSmallIntegerField(_("汇总发送时间(时)"), default=8)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    # Digest searches are matched at digest time (members.digests): the last
    # DigestBulletin its digest covered. None: none yet, every bulletin since created_at.
    digested_through = models.BigIntegerField(_("汇总已覆盖至"), null=True, editable=False)

    class Meta:
        verbose_name = _("标讯订阅")
        verbose_name_plural = _("标讯订阅")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class AlertDelivery(models.Model):
    """One bulletin for one member, once, with every reason it matched (idempotent)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        SKIPPED = "skipped", _("未发送(无权限或已退订)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        on_delete=models.CASCADE,
        related_name="alert_deliveries",
        db_index=False,  # the unique (user, bulletin) index serves lookups by member
    )
    bulletin = models.ForeignKey(
        "news.Bulletin", verbose_name=_("标讯"), on_delete=models.CASCADE, related_name="+"
    )
    reasons = models.JSONField(_("匹配原因"), default=list)
    instant = models.BooleanField(_("即时"), default=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("匹配时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    # Set while a worker sends it (members.alerts claims rows in a short transaction and
    # talks SMTP holding no lock); others leave it alone until the claim runs out.
    claimed_at = models.DateTimeField(_("领取发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("提醒发送记录")
        verbose_name_plural = _("提醒发送记录")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "bulletin"], name="alert_once_per_bulletin")
        ]
        indexes = [
            # The sweeper's: pending instant rows by age (digest rows, most of the
            # matches, are read per member through the unique index instead).
            models.Index(
                fields=["created_at"],
                name="alert_pending_instant",
                condition=Q(status="pending", instant=True),
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.bulletin_id} · {self.get_status_display()}"


class DigestBulletin(models.Model):
    """A bulletin announced to alerts, in announcement order: what digests are matched
    against at digest time. Ids are handed out under a lock (members.digests), so the
    largest id a digest has seen is a watermark no later announcement falls below."""

    bulletin = models.ForeignKey(
        "news.Bulletin", verbose_name=_("标讯"), on_delete=models.CASCADE, related_name="+"
    )
    announced_at = models.DateTimeField(_("发布通知时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("待汇总标讯")
        verbose_name_plural = _("待汇总标讯")

    def __str__(self):
        return f"{self.pk} · {self.bulletin_id}"


class Follow(models.Model):
    """A member following a project or an organisation (alerted of its news)."""

    class Relation(models.TextChoices):
        COMPETITOR = "competitor", _("竞争对手")
        CLIENT = "client", _("客户")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    # What a watched company is to the member (organisations only; "" for projects).
    relation = models.CharField(_("关系"), max_length=12, choices=Relation.choices, blank=True)
    project = models.ForeignKey(
        "news.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        "news.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("关注时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("关注")
        verbose_name_plural = _("关注")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"],
                condition=Q(project__isnull=False),
                name="follow_project_once",
            ),
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=Q(organization__isnull=False),
                name="follow_organization_once",
            ),
            models.CheckConstraint(
                condition=Q(project__isnull=True) ^ Q(organization__isnull=True),
                name="follow_one_subject",
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.project_id or self.organization_id}"


class CalendarFeed(models.Model):
    """A member's private 开标日历 subscription address (/calendar/<token>.ics).

    A random token, not a signature: 重新生成链接 must invalidate the old address, which
    a signed value alone cannot do."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(_("订阅令牌"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now=True)

    class Meta:
        verbose_name = _("开标日历订阅")
        verbose_name_plural = _("开标日历订阅")

    def __str__(self):
        return f"{self.user} · {self.created_at:%Y-%m-%d}"


class DeadlineReminder(models.Model):
    """One deadline a member is reminded of the day before; the row makes it once.

    Keyed by the deadline's time too: a corrected notice that moves the deadline is
    reminded of again for its new day."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration", _("报名截止")
        BID = "bid", _("投标截止")
        OPENING = "opening", _("开标")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deadline_reminders"
    )
    bulletin = models.ForeignKey("news.Bulletin", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    due_at = models.DateTimeField(_("截止时间"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("截止提醒")
        verbose_name_plural = _("截止提醒")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "bulletin", "kind", "due_at"], name="deadline_reminder_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at", "user"],
                name="deadline_reminder_unsent",
                condition=Q(sent_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.bulletin_id} · {self.kind}"


class Trial(models.Model):
    """A member's one free trial of a paid plan: one per email and one per mobile, across
    accounts (the unique constraints hold even when two sign-ups race). Kept when the
    account is deleted, so a new account with the same email or mobile cannot start over."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="trials",
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("套餐"), on_delete=models.PROTECT, related_name="+"
    )
    # The period it gave: a normal Subscription row, marked as a trial by this link.
    subscription = models.OneToOneField(
        Subscription,
        verbose_name=_("试用期"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="trial",
    )
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    ends_on = models.DateField(_("结束日期"), help_text=_("含当天"))
    email = models.CharField(_("邮箱(规范化)"), max_length=254, blank=True)
    phone = models.CharField(_("手机号(规范化)"), max_length=20, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("免费试用")
        verbose_name_plural = _("免费试用")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="trial_once_per_email"
            ),
            models.UniqueConstraint(
                fields=["phone"], condition=~Q(phone=""), name="trial_once_per_phone"
            ),
        ]

    def __str__(self):
        return f"{self.email} · {self.phone} · {self.ends_on}"


class Team(models.Model):
    """企业会员: the seats a team-plan subscriber shares with colleagues. The owner's
    current team-plan period is the team's access: it ends when that period does."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("开通人(管理员)"),
        on_delete=models.CASCADE,
        related_name="owned_team",
    )
    name = models.CharField(_("企业名称"), max_length=200)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("企业团队")
        verbose_name_plural = _("企业团队")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name or str(self.owner)


class TeamMembership(models.Model):
    """One seat: an invitation by email, then the colleague who accepted it."""

    class Role(models.TextChoices):
        OWNER = "owner", _("管理员")
        MEMBER = "member", _("成员")

    class Status(models.TextChoices):
        INVITED = "invited", _("已邀请")
        ACTIVE = "active", _("已加入")
        REMOVED = "removed", _("已移除")

    team = models.ForeignKey(
        Team, verbose_name=_("企业团队"), on_delete=models.CASCADE, related_name="memberships"
    )
    email = models.EmailField(_("邀请邮箱"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="team_memberships",
    )
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.INVITED
    )
    # Changed by every (re)sent invitation: only the newest link works, and only once.
    nonce = models.CharField(max_length=32, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("邀请人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    invited_at = models.DateTimeField(_("邀请时间"), default=timezone.now)
    joined_at = models.DateTimeField(_("加入时间"), null=True, blank=True)
    removed_at = models.DateTimeField(_("移除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("团队成员")
        verbose_name_plural = _("团队成员")
        ordering = ["team", "-role", "invited_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "email"],
                condition=Q(status__in=["invited", "active"]),
                name="team_seat_once_per_email",
            ),
            # One team per person: the access policy reads one team's plan for a member.
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="active"), name="team_member_one_team"
            ),
        ]

    def __str__(self):
        return f"{self.team} · {self.email} · {self.get_status_display()}"


class TeamFollow(models.Model):
    """A project the team follows together, with a shared note and who is on it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="follows")
    project = models.ForeignKey("news.Project", on_delete=models.CASCADE, related_name="+")
    note = models.TextField(_("备注"), max_length=1000, blank=True)
    assignee = models.ForeignKey(
        TeamMembership,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_follows",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("关注时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("团队关注项目")
        verbose_name_plural = _("团队关注项目")
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["team", "project"], name="team_follow_once")]

    def __str__(self):
        return f"{self.team} → {self.project_id}"
