from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import connection, models
from django.db.models import BooleanField, F, FloatField, Func, Q, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RegionQuerySet(models.QuerySet):
    def provinces(self):
        return self.filter(level=Region.Level.PROVINCE)

    def children_of(self, parent_id):
        return self.filter(parent_id=parent_id)


class Region(models.Model):
    """Administrative division: province → city → district/county.

    Verified rows come from jionlp's table of official divisions (with their codes).
    Names a page gives that the table lacks are stored unverified rather than dropped.
    """

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省级")
        CITY = 2, _("地级")
        DISTRICT = 3, _("县级")

    name = models.CharField(_("名称"), max_length=50)
    full_name = models.CharField(_("全称"), max_length=80, blank=True)
    alias = models.CharField(_("简称"), max_length=50, blank=True)
    code = models.CharField(_("行政区划代码"), max_length=12, blank=True)
    level = models.PositiveSmallIntegerField(_("级别"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    verified = models.BooleanField(
        _("已核实"), default=True, help_text=_("是否见于官方行政区划数据")
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("地区")
        verbose_name_plural = _("地区")
        ordering = ["code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="region_unique_name"),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="region_unique_province_name",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="region_unique_code"
            ),
        ]

    def __str__(self):
        return self.path_display

    @property
    def path_display(self) -> str:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "-".join(reversed(names))


class Category(models.Model):
    name = models.CharField(_("名称"), max_length=30, unique=True)
    slug = models.SlugField(_("网址标识"), max_length=30, unique=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("分类")
        verbose_name_plural = _("分类")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class _Matches(Func):
    """`vector @@ 'literal'::tsquery` as an expression, so Django names the columns with the
    alias of whichever query holds it (raw SQL naming news_bulletin inside a subquery
    aliased U0 would correlate with the outer row and compute n-grams row by row)."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _public_vector() -> Func:
    """The public body vector, spelled as the GIN index spells it (migration 0010): it is
    computed, not stored (news/search.py); with its week lexeme since migration 0014."""
    columns = ("title", "body", "hidden_lexemes", "province", "city", "region", "category")
    columns += ("published_at",)
    return Func(
        *(F(c) for c in columns), function="news_public_vector", output_field=SearchVectorField()
    )


def _match(
    tsquery: str, *, column: str = "", with_contacts: bool = False, contact_tsquery: str = ""
) -> Q:
    literal = RawSQL("%s::tsquery", [tsquery], output_field=TextField())
    matches = Q(_Matches(F(column) if column else _public_vector(), literal))
    if with_contacts:
        # No coalesce() around the nullable contact_vector: it would keep the planner from
        # a BitmapOr of the two GIN indexes (NULL counts as false in WHERE).
        contact = RawSQL("%s::tsquery", [contact_tsquery or tsquery], output_field=TextField())
        matches |= Q(_Matches(F("contact_vector"), contact))
    return matches


def _matching(
    tsquery: str, *, column: str = "", with_contacts: bool = False, contact_tsquery: str = ""
) -> Q:
    """pk IN (rows matching `tsquery`), for exclusions: PostgreSQL reads the matches from
    the GIN index once and anti-joins, where NOT (vector @@ …) on each candidate row would
    compute that row's n-grams (~0.6 ms each) for lack of a stored vector."""
    matches = Bulletin.objects.filter(status=Bulletin.Status.PUBLISHED).filter(
        _match(tsquery, column=column, with_contacts=with_contacts, contact_tsquery=contact_tsquery)
    )
    return Q(pk__in=matches.values("pk"))


_TEXT = "(title || E'\\n' || body)"


def _row_term(term: str, *, with_contacts: bool) -> RawSQL:
    """One term tested on the row's own text, exactly as the index would answer it for a
    public lexeme: an n-gram is in the public vector iff it occurs in the raw text and is
    not one of hidden_lexemes (a CJK n-gram cannot span a run, so a substring test is
    exact); a word needs non-alphanumeric neighbours. A one-character prefix is tested
    conservatively: rows whose hidden n-grams hold that character at all are not found
    this way (never found by a contact; at worst missing from a page the count includes).
    Microseconds a row, where computing the row's n-grams costs a millisecond."""
    from news import search

    parts, params = [], []
    for lexeme in search.term_lexemes(term):
        if lexeme.endswith("*"):
            parts.append(f"(strpos({_TEXT}, %s) > 0 AND strpos(hidden_lexemes, %s) = 0)")
            params += [lexeme[:-1], lexeme[:-1]]
            continue
        hidden = "strpos(' ' || hidden_lexemes || ' ', %s) = 0"
        if search.is_cjk(lexeme):
            parts.append(f"(strpos({_TEXT}, %s) > 0 AND {hidden})")
            params += [lexeme, f" {lexeme} "]
        else:
            parts.append(f"({_TEXT} ~* %s AND {hidden})")
            params += [f"(^|[^0-9A-Za-z]){lexeme}([^0-9A-Za-z]|$)", f" {lexeme} "]
    sql = " AND ".join(parts)
    if with_contacts:
        sql = f"(({sql}) OR contact_vector @@ %s::tsquery)"
        params.append(search.term_tsquery(term))
    return RawSQL(f"({sql})", params, BooleanField())


class BulletinQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Bulletin.Status.PUBLISHED, published_at__lte=timezone.now())

    def in_region(self, region):
        """A region includes its children: 江苏 matches bulletins of 镇江新区."""
        if region.level == Region.Level.PROVINCE:
            return self.filter(province=region)
        if region.level == Region.Level.CITY:
            return self.filter(city=region)
        return self.filter(region=region)

    def newest_first(self):
        return self.order_by("-published_at", "-id")

    def search(
        self,
        query,
        *,
        title_only: bool = False,
        filters=(),
        with_contacts=False,
        scan=False,
        window=None,
    ):
        """Rows matching a `news.search.ParsedQuery` (every term, no excluded term).

        `scan` (news.search_plans decides) tests each row's text instead of the index,
        with the same answers; for terms most bulletins hold.

        `filters` are `news.search.filter_lexemes` of filters the caller also applies:
        they let the GIN index narrow the rows before any is read. `with_contacts` (only
        for viewers members.access lets search contacts) also matches each term against
        the contact values; everyone else searches the masked text alone. `window` (a
        news.search_windows.Window) keeps the rows published since its start, which the
        index finds by their week lexemes.
        """
        if not query:
            return self
        if connection.vendor != "postgresql":
            return self._search_in_python(query, title_only=title_only, masked=not with_contacts)
        from news import search

        if scan and not title_only:
            return self._search_by_rows(query, with_contacts=with_contacts)
        weeks = ()
        if window is not None and query.include and not title_only:
            self, weeks = self.filter(published_at__gte=window.since), window.lexemes
        if with_contacts and not title_only:
            return self._search_with_contacts(query, filters, weeks)
        if title_only:
            include = search.tsquery(query)
            if include:
                return self.filter(_match(include, column="title_vector"))
            return self.exclude(_matching(search.exclusion_tsquery(query), column="title_vector"))
        include = search.tsquery(query, filters=filters, window=weeks)
        if include:  # exclusions ride in the tsquery: one GIN scan (a & !b)
            return self.filter(_match(include))
        return self.exclude(_matching(search.exclusion_tsquery(query)))

    def _search_with_contacts(self, query, filters, weeks=()):
        from news import search

        # The place / category lexemes ride in each term's public match (the caller's
        # column filters hold for the contact side): alone, their condition looked so
        # selective that PostgreSQL computed the n-grams of all 92,000 江苏 tenders.
        # So do the window's weeks (its published_at condition holds for both sides).
        rows = self
        places = "".join(f" & '{f}'" for f in filters)
        places += f" & {search.any_of(weeks)}" if weeks else ""
        for term in query.include:
            term_query = search.term_tsquery(term)
            rows = rows.filter(
                _match(term_query + places, with_contacts=True, contact_tsquery=term_query)
            )
        # Only the window's rows can be excluded: the anti-join then reads the excluded
        # term's matches of those weeks, not all of them (30,000 rows for a 3 % term).
        within = f" & {search.any_of(weeks)}" if weeks else ""
        for term in query.exclude:
            excluded = _matching(
                search.term_tsquery(term) + within,
                with_contacts=True,
                contact_tsquery=search.term_tsquery(term),
            )
            rows = rows.exclude(excluded)
        return rows

    def _search_by_rows(self, query, *, with_contacts: bool):
        """For terms most bulletins hold (news.search_plans): testing the newest rows one
        by one finds a page after a few dozen, where the index would hand over and sort
        most of the table. The caller's filters stay plain column conditions."""
        rows = self
        for term in query.include:
            rows = rows.filter(_row_term(term, with_contacts=with_contacts))
        for term in query.exclude:
            rows = rows.exclude(_row_term(term, with_contacts=with_contacts))
        return rows

    def _search_in_python(self, query, *, title_only: bool, masked: bool):
        """SQLite (`make run` only): the same query language as substring matches over
        the text each viewer may see (masked unless `masked` is False). Reads every
        candidate row, which is fine at demo size and never runs in production."""
        from news.masking import contact_values, mask_text

        def visible_text(bulletin) -> str:
            text = bulletin.title if title_only else f"{bulletin.title}\n{bulletin.body}"
            if masked:
                return mask_text(text, values=contact_values(bulletin.contacts.all())).lower()
            values = "" if title_only else " ".join(contact_values(bulletin.contacts.all()))
            return f"{text}\n{values}".lower()

        def has(text, runs):
            return all(run in text for run in runs)

        keep = []
        for bulletin in self.only("id", "title", "body").prefetch_related("contacts"):
            text = visible_text(bulletin)
            if all(has(text, runs) for runs in query.substring_terms("include")) and not any(
                has(text, runs) for runs in query.substring_terms("exclude")
            ):
                keep.append(bulletin.pk)
        return self.filter(pk__in=keep)

    def by_relevance(self, query):
        """Titles holding more of the terms first, newest first among equals.

        Ranking reads the small title vector only: ranking by the body vector meant
        reading every match's multi-KB vector from TOAST (0.36 s for 10,000 rows).
        """
        from news import search

        if connection.vendor != "postgresql" or not query.include:
            return self.newest_first()
        rank = RawSQL(
            "ts_rank(title_vector, %s::tsquery)", [search.any_term_tsquery(query)], FloatField()
        )
        return self.annotate(rank=rank).order_by("-rank", "-published_at", "-id")

    def for_listing(self, *, with_body: bool = False):
        fields = ["id", "title", "published_at", "category__name", "category__slug"]
        fields += ["region__name", "city__name", "province__name"]
        return self.select_related("category", "region", "city", "province").only(
            *fields, *(["body", "mask_plan"] if with_body else [])
        )


# Bulletin columns holding a deadline, in the order a notice's timeline runs.
DEADLINE_COLUMNS = ("registration_deadline", "bid_deadline", "opening_at")


class Bulletin(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    title = models.CharField(_("标题"), max_length=300)
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="bulletins"
    )
    # region is the most specific division named; province and city are denormalised
    # from it so "a region includes its children" is one indexed equality, not a tree walk.
    region = models.ForeignKey(
        Region,
        verbose_name=_("地区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    province = models.ForeignKey(
        Region, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+"
    )
    city = models.ForeignKey(
        Region, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    body = models.TextField(_("正文"), help_text=_("纯文本,段落之间空一行"))
    source_url = models.URLField(_("原文网址"), max_length=1000, blank=True)
    source_name = models.CharField(_("来源"), max_length=60, blank=True)
    credits = models.JSONField(_("署名"), default=dict, blank=True)
    amount_yuan = models.BigIntegerField(_("金额(元)"), null=True, blank=True)
    bid_deadline = models.DateTimeField(_("投标截止时间"), null=True, blank=True)
    opening_at = models.DateTimeField(_("开标时间"), null=True, blank=True)
    registration_deadline = models.DateTimeField(_("报名截止时间"), null=True, blank=True)
    stage = models.CharField(_("项目阶段"), max_length=30, blank=True)
    winner = models.CharField(_("中标单位"), max_length=200, blank=True)
    project = models.ForeignKey(
        "news.Project",
        verbose_name=_("所属项目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bulletins",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # sha256 of normalised title + body: catches reposts of one article by other sites.
    fingerprint = models.CharField(_("内容指纹"), max_length=64, blank=True, editable=False)
    # Search (news/search.py): the GIN index computes the body's n-grams from title + body
    # minus hidden_lexemes (the n-grams only the unmasked contacts hold); title_vector is
    # the masked title's (title-only search, ranking); contact_vector holds the gated
    # values, searched for members only.
    hidden_lexemes = models.TextField(blank=True, default="", editable=False)
    title_vector = SearchVectorField(null=True, editable=False)
    contact_vector = SearchVectorField(null=True, editable=False)
    # Where masking hides the title's and body's contacts (news/mask_plans.py); a plan
    # found for other text, contacts or rules is ignored and the text masked live.
    mask_plan = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = BulletinQuerySet.as_manager()

    class Meta:
        verbose_name = _("标讯")
        verbose_name_plural = _("标讯")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_url"], condition=~Q(source_url=""), name="bulletin_unique_source"
            ),
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~Q(fingerprint=""),
                name="bulletin_unique_fingerprint",
            ),
            models.CheckConstraint(
                condition=Q(GreaterThan(Length(Trim("title")), 0)),
                name="bulletin_title_not_empty",
            ),
        ]
        indexes = [
            # The deadline calendar and the day-before reminders ask "which deadlines fall
            # in this window"; most bulletins have none, so these partial indexes are small.
            *(
                models.Index(
                    fields=[column],
                    name=f"bulletin_pub_{column.split('_')[0]}_at",
                    condition=Q(status="published", **{f"{column}__isnull": False}),
                )
                for column in DEADLINE_COLUMNS
            ),
            models.Index(
                fields=["-published_at", "-id"],
                name="bulletin_pub_recent",
                condition=Q(status="published"),
            ),
            models.Index(
                fields=["category", "-published_at", "-id"],
                name="bulletin_pub_category",
                condition=Q(status="published"),
            ),
            models.Index(
                fields=["province", "category", "-published_at", "-id"],
                name="bulletin_pub_province",
                condition=Q(status="published"),
            ),
            models.Index(
                fields=["city", "-published_at", "-id"],
                name="bulletin_pub_city",
                condition=Q(status="published"),
            ),
            models.Index(
                fields=["region", "-published_at", "-id"],
                name="bulletin_pub_region",
                condition=Q(status="published"),
            ),
            GinIndex(
                fields=["title_vector"],
                name="bulletin_pub_title_search",
                condition=Q(status="published"),
            ),
            GinIndex(
                fields=["contact_vector"],
                name="bulletin_pub_contact_search",
                condition=Q(status="published"),
            ),
        ]

    def __str__(self):
        return self.title

    # What save() derives, and from what: the denormalised regions and the vectors.
    VECTOR_FIELDS = ("hidden_lexemes", "title_vector", "contact_vector", "mask_plan")
    DERIVED_FIELDS = ("province", "city", *VECTOR_FIELDS)
    DERIVED_FROM = {"title", "body", "region", "category"}

    def save(self, *args, **kwargs):
        self.derive()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and self.DERIVED_FROM & set(update_fields):
            # save(update_fields=["region"]) must move province, city and the vectors too.
            kwargs["update_fields"] = {*update_fields, *self.DERIVED_FIELDS}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("bulletin-detail", args=[self.pk])

    def derive(self, contacts=None) -> None:
        """Set every derived column (save() and the bulk import call this)."""
        self.set_region(self.region)
        self.refresh_vectors(contacts)

    def refresh_vectors(self, contacts=None) -> None:
        """Set the stored search columns (news/search.py): the n-grams masking hides, the
        masked title's vector and the members-only contact vector.

        `contacts` spares a query when the caller holds them (the importer sets
        `_index_contacts` before saving); else the stored contacts are read.
        """
        from news.masking import contact_values
        from news.search import bulletin_index_fields

        if contacts is None:
            contacts = getattr(self, "_index_contacts", None)
        if contacts is None:
            contacts = list(Contact.objects.filter(bulletin_id=self.pk)) if self.pk else []
        fields = bulletin_index_fields(
            title=self.title, body=self.body, contact_values=contact_values(contacts)
        )
        self.hidden_lexemes = fields.hidden_lexemes
        # tsvector literals: psycopg2 sends them as untyped literals PostgreSQL casts.
        self.title_vector = fields.title_vector
        self.contact_vector = fields.contact_vector
        self.mask_plan = fields.mask_plan

    @property
    def paragraphs(self) -> list[str]:
        return self.split_paragraphs(self.body)

    @staticmethod
    def split_paragraphs(body: str) -> list[str]:
        return [p.strip() for p in body.split("\n\n") if p.strip()]

    @property
    def region_display(self) -> str:
        """省-市-区 from the denormalised columns (select_related, no tree walk)."""
        seen, names = set(), []
        for node in (self.province, self.city, self.region):
            if node is not None and node.pk not in seen:
                seen.add(node.pk)
                names.append(node.name)
        return "-".join(names)

    def set_region(self, region: Region | None) -> None:
        """Keep the denormalised province / city in step with region."""
        self.region = region
        chain = []
        node = region
        while node is not None:
            chain.append(node)
            node = node.parent
        by_level = {r.level: r for r in chain}
        self.province = by_level.get(Region.Level.PROVINCE)
        self.city = by_level.get(Region.Level.CITY)


class Contact(models.Model):
    """A person or organisation a bulletin names: what members pay to see."""

    bulletin = models.ForeignKey(
        Bulletin, verbose_name=_("标讯"), on_delete=models.CASCADE, related_name="contacts"
    )
    organization = models.CharField(_("单位"), max_length=200, blank=True)
    role = models.CharField(_("角色"), max_length=30, blank=True)
    person = models.CharField(_("联系人"), max_length=50, blank=True)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=60, blank=True)
    mobile = models.CharField(_("手机"), max_length=30, blank=True)
    email = models.EmailField(_("电子邮件"), blank=True)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(organization="", person=""),
                name="contact_names_someone",
            )
        ]

    def __str__(self):
        return " ".join(x for x in (self.role, self.organization, self.person) if x)


class LshBucket(models.Model):
    """One MinHash LSH band key of a bulletin's body (news/importing/near_duplicates.py).

    Twenty rows a bulletin; the primary key (key, bulletin) is the index, so "which stored
    bulletins share bands with this page, and how many" is one index-only scan whatever
    the table size.
    """

    pk = models.CompositePrimaryKey("key", "bulletin")
    key = models.BigIntegerField()
    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("近似重复索引")
        verbose_name_plural = _("近似重复索引")

    def __str__(self):
        return f"{self.key} → {self.bulletin_id}"


class ImportJob(models.Model):
    """A large upload imported by the worker; the admin shows its progress and summary."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(
        "members.User", verbose_name=_("上传人"), null=True, on_delete=models.SET_NULL
    )
    upload = models.FileField(_("上传文件"), upload_to="imports/%Y/%m/")
    filename = models.CharField(_("文件名"), max_length=255)
    publish = models.BooleanField(_("直接发布"), default=True)
    dry_run = models.BooleanField(_("试运行"), default=False)
    allow_near_duplicates = models.BooleanField(_("近似重复也导入"), default=False)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("文件数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    results = models.JSONField(_("结果"), default=list, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 0
