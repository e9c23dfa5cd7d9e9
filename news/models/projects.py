"""Projects: one construction job followed through its stages, its parties and contacts."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Stage(models.IntegerChoices):
    """Stages in order: a project only ever moves forward."""

    PROPOSED = 10, _("拟建")
    APPROVAL = 20, _("报批")
    APPROVED = 30, _("立项")
    TENDER = 40, _("招标")
    AWARD = 50, _("中标")
    CONSTRUCTION = 60, _("施工")
    COMPLETED = 70, _("竣工")


class WorkType(models.TextChoices):
    MUNICIPAL = "municipal", _("市政道路")
    BUILDING = "building", _("房屋建筑")
    INDUSTRIAL = "industrial", _("工业厂房")
    WATER = "water", _("水利环保")
    ENERGY = "energy", _("能源电力")
    OTHER = "other", _("其他")


class ProjectQuerySet(models.QuerySet):
    def active(self):
        """Projects not merged into another."""
        return self.filter(merged_into__isnull=True)

    def in_region(self, region):
        from news.models.bulletins import Region

        if region.level == Region.Level.PROVINCE:
            return self.filter(province=region)
        if region.level == Region.Level.CITY:
            return self.filter(city=region)
        return self.filter(region=region)


class Project(models.Model):
    name = models.CharField(_("项目名称"), max_length=200)
    # Normalised name (news/projects/naming.py): width, brackets and trailing words such as
    # 施工/招标/公告/项目 erased. Matching is on (name_key, place_key).
    name_key = models.CharField(_("名称索引"), max_length=200, editable=False)
    # city (else province, else "") id: the same name in another city is another project.
    place_key = models.CharField(max_length=20, editable=False, default="")
    region = models.ForeignKey(
        "news.Region",
        verbose_name=_("地区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    province = models.ForeignKey(
        "news.Region",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )
    city = models.ForeignKey(
        "news.Region",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )
    stage = models.PositiveSmallIntegerField(
        _("项目阶段"), choices=Stage.choices, null=True, blank=True
    )
    work_type = models.CharField(
        _("工程类别"), max_length=20, choices=WorkType.choices, default=WorkType.OTHER
    )
    amount_yuan = models.BigIntegerField(_("金额(元)"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("最近动态"), default=timezone.now)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("已合并到"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("项目")
        verbose_name_plural = _("项目")
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name_key", "place_key"],
                condition=Q(merged_into__isnull=True),
                name="project_unique_name_place",
            )
        ]
        indexes = [
            models.Index(
                fields=["-last_activity_at", "-id"],
                name="project_recent",
                condition=Q(merged_into__isnull=True),
            ),
            models.Index(
                fields=["province", "-last_activity_at"],
                name="project_province_recent",
                condition=Q(merged_into__isnull=True),
            ),
            models.Index(
                fields=["city", "-last_activity_at"],
                name="project_city_recent",
                condition=Q(merged_into__isnull=True),
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("project-detail", args=[self.pk])

    @property
    def region_display(self) -> str:
        seen, names = set(), []
        for node in (self.province, self.city, self.region):
            if node is not None and node.pk not in seen:
                seen.add(node.pk)
                names.append(node.name)
        return "-".join(names)

    def set_region(self, region) -> None:
        from news.models.bulletins import Region

        self.region = region
        chain, node = [], region
        while node is not None:
            chain.append(node)
            node = node.parent
        by_level = {r.level: r for r in chain}
        self.province = by_level.get(Region.Level.PROVINCE)
        self.city = by_level.get(Region.Level.CITY)
        place = self.city or self.province
        self.place_key = str(place.pk) if place else ""


class ProjectStageChange(models.Model):
    """Every stage a project reached, when, and the bulletin that said so."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    stage = models.PositiveSmallIntegerField(_("阶段"), choices=Stage.choices)
    previous = models.PositiveSmallIntegerField(
        _("原阶段"), choices=Stage.choices, null=True, blank=True
    )
    changed_at = models.DateTimeField(_("日期"))
    bulletin = models.ForeignKey(
        "news.Bulletin",
        verbose_name=_("依据标讯"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("阶段变化")
        verbose_name_plural = _("阶段变化")
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.project} → {self.get_stage_display()}"


class Organization(models.Model):
    """An organisation, one row across projects: keyed by 统一社会信用代码 where a bulletin
    gives it, else by normalised name (news/companies.py). Names and codes are public."""

    name = models.CharField(_("名称"), max_length=200)
    name_key = models.CharField(max_length=200, unique=True, editable=False)
    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, blank=True, default="", editable=False
    )
    # A name variant found to share another row's credit code: it stays as a pointer, so
    # the variant's name still finds the company (as a merged project does).
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("已合并到"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~Q(credit_code=""),
                name="organization_unique_credit_code",
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("organization-detail", args=[self.pk])


class ProjectParty(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("业主/建设单位")
        DESIGNER = "designer", _("设计院")
        GENERAL = "general", _("总包")
        BUILDER = "builder", _("施工单位")
        SUPERVISOR = "supervisor", _("监理")
        AGENT = "agent", _("招标代理")
        WINNER = "winner", _("中标人")

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="parties"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="parties"
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    first_bulletin = models.ForeignKey(
        "news.Bulletin", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_seen = models.DateTimeField(_("首次出现"))
    last_seen = models.DateTimeField(_("最近出现"))

    class Meta:
        verbose_name = _("参建单位")
        verbose_name_plural = _("参建单位")
        ordering = ["first_seen", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "organization", "role"], name="party_once_per_role"
            )
        ]
        indexes = [
            # A company profile's aggregates: one organisation's rows by role, the project
            # id in the index (news/company_selectors.py).
            models.Index(fields=["organization", "role", "project"], name="party_org_role")
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.organization}"


class ProjectContact(models.Model):
    """A person named for a project, with where and when they were seen (gated data)."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="contacts"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(_("角色"), max_length=30, blank=True)
    person = models.CharField(_("联系人"), max_length=50, blank=True)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=60, blank=True)
    mobile = models.CharField(_("手机"), max_length=30, blank=True)
    email = models.EmailField(_("电子邮件"), blank=True)
    # person + their first number: the same person and phone later updates last_seen.
    identity = models.CharField(max_length=120, editable=False)
    first_bulletin = models.ForeignKey(
        "news.Bulletin", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_bulletin = models.ForeignKey(
        "news.Bulletin", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_seen = models.DateTimeField(_("首次出现"))
    last_seen = models.DateTimeField(_("最近出现"))

    class Meta:
        verbose_name = _("项目联系人")
        verbose_name_plural = _("项目联系人")
        ordering = ["first_seen", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "identity"], name="project_contact_once")
        ]

    def __str__(self):
        return " ".join(x for x in (self.role, self.person) if x)


class ProjectMerge(models.Model):
    """The record of staff merging one project into another."""

    source_name = models.CharField(_("被合并项目"), max_length=200)
    source = models.ForeignKey(
        Project, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("原项目")
    )
    target = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="merges", verbose_name=_("合并到")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved = models.JSONField(_("转移数量"), default=dict)
    merged_at = models.DateTimeField(_("合并时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("项目合并记录")
        verbose_name_plural = _("项目合并记录")
        ordering = ["-merged_at"]

    def __str__(self):
        return f"{self.source_name} → {self.target}"
