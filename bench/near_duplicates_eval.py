"""Precision and recall of the repost detector (news/importing/near_duplicates.py).

    .venv/bin/python bench/near_duplicates_eval.py [--originals 400] [--seed 20241012]

No database: pages in the format of demo/bulletins (bench/import_bench.py's Generator and
vocabulary) are parsed with parse_text, so the cutting of other sites' chrome is exercised, and
checked as storing._near_duplicate does, against an in-memory index (band key -> page ids).
The labelled set (fixed seed):
- originals: tender and award notices; about half are independent Generator pages, the rest
  come from a few agency templates (same headings, qualification and filler paragraphs,
  owner, agency, contact layout) differing only in project/road name, scale, amount, dates,
  contact names/phones and URL (some are lots of one batch: same dates and contacts too).
  Same-template notices are the hard negatives: never duplicates of each other.
- reposts of a random subset of originals (a few twice), with one or more edits: header
  (another site's chrome before the title, no source-URL line), footer (other chrome after the
  article: 来源, 转载, 责任编辑, 推荐阅读, 分享到, 上一篇…), width (full-width punctuation
  and digits), drop (one body paragraph removed), add (one sentence added).
- updates: an original re-issued with another amount or deadline, NOT a duplicate.
In a shuffled order, each page's band sharers among the indexed pages are ranked by shared
bands (ties: newest first) and the top 3 verified with compare(); a page judged a repost is not
indexed (the importer does not store it), any other is. A predicted pair is a true positive
when both pages are labelled one article (same original, or repost and original); recall is
over the pages with a labelled twin indexed before them. Exit 1 if a target is missed.
"""

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from collections import Counter, namedtuple
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
import django  # noqa: E402

django.setup()

from bench import import_bench as ib  # noqa: E402
from bench._common import commit_id  # noqa: E402
from news.importing import near_duplicates as nd  # noqa: E402
from news.importing import storing  # noqa: E402
from news.importing.parser import ParseError, normalised_fingerprint, parse_text  # noqa: E402
from news.text import join_paragraphs  # noqa: E402

TOP = storing.NEAR_DUPLICATE_CANDIDATES
TARGET_PRECISION, TARGET_RECALL = 0.995, 0.95
EDITS = ("header", "footer", "width", "drop", "add")
SECTIONS = "招标条件|项目概况与招标范围|投标人资格要求|招标文件的获取|投标文件的递交|联系方式"
HEADINGS = ("{n}、{s}", "第{n}章 {s}", "{i}.{s}")  # one numbering style per agency template
QUALIFICATIONS = (
    "本次招标要求投标人须具备市政公用工程施工总承包二级及以上资质,并具有相应的施工能力。",
    "拟派项目经理须具备市政公用工程专业二级及以上注册建造师执业资格。",
    "投标人近三年内无行贿犯罪记录,未被列入失信被执行人名单。",
    "本次招标不接受联合体投标,投标人须在信用中国网站查询无不良信用记录。",
    "投标人须具有有效的安全生产许可证,近五年内完成过类似工程业绩。",
)
SITES = ("江南建设网", "中国工程信息网", "东方招投标网", "华夏建筑网", "长三角采购信息网")
CHROME_HEAD = (
    "{s} 首页 > 招标信息 > 正文",
    "当前位置: 首页 > 招标公告",
    "您的位置:首页 » 中标公示",
)
CHROME_FOOT = (
    "来源:{paper}", "转载请注明出处", "责任编辑:{person}", "推荐阅读", "更多精彩内容请关注本站",
    "分享到: 微信 微博", "上一篇:{other}", "下一篇:{other}", "打印本页 关闭窗口",
)  # fmt: skip
PAPERS = ("镇江日报", "扬子晚报", "新华日报", "钱江晚报", "南方日报")
ADDED = (
    "本公告同时在中国招标投标公共服务平台发布。", "特此公告。", "请各潜在投标人及时关注相关信息。",
    "以上信息仅供参考,具体以招标文件为准。", "截至发稿时,已有{n}家单位咨询报名事宜。",
)  # fmt: skip
AMOUNT = re.compile(r"(?<=[:为])(\d[\d,]*)\.(\d{2})万元")
DEADLINE = re.compile(r"截止时间[^。]{0,20}?为(\d{4})年(\d{1,2})月(\d{1,2})日")
WIDE = {c: chr(ord(c) + 0xFEE0) for c in ":,();0123456789"}
Article = namedtuple("Article", "title published region category paragraphs url")


@dataclass
class Doc:
    id: int
    group: int  # pages of one group are the same article
    kind: str  # "original" | "template" | "repost" | "update"
    text: str
    edits: tuple = ()
    template: int | None = None
    source: int | None = None  # an update: the article it re-issues
    body: str = ""


class NoticeGenerator(ib.Generator):
    CATEGORIES = (("招标公告", "tender", 60), ("中标公告", "award", 40))


def cn(d: datetime.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def render(a: Article, head=(ib.HEADER,), tail=None) -> str:
    """A page as Generator.page writes it; other sites' chrome replaces `head` / `tail`."""
    if tail is None:
        tail = f"如有附件或图片请到网址中下载或查看{a.url}\n\n{ib.FOOTER}"
    region, d = "-".join(a.region), a.published
    meta = f"{d:%Y-%m-%d} {region}\n所在地区: {region} 发布日期: {cn(d)}\n{a.category}正文"
    return "\n\n".join([*head, a.title, meta, *a.paragraphs, tail])


def from_generator(gen: ib.Generator, i: int) -> Article:
    page = gen.page(i)
    body = page.text.split(f"{page.category}正文\n\n", 1)[1].split("\n\n如有附件或图片", 1)[0]
    paragraphs = body.split("\n\n")
    a = Article(page.title, page.published, page.region, page.category, paragraphs, page.source_url)
    assert render(a) == page.text, "render() no longer matches Generator.page()"
    return a


def make_template(gen: ib.Generator) -> dict:
    r = gen.rng
    region = r.choice(gen.regions)
    _, city, district = region
    facility = r.choice(ib.FACILITIES)
    return dict(
        award=r.random() < 0.35, region=region, facility=facility, host=r.choice(ib.URL_HOSTS),
        owner=gen.org(city, ib.ORG_KINDS), agent=gen.org(city, ib.AGENT_KINDS),
        headings=r.choice(HEADINGS), quals=r.sample(QUALIFICATIONS, 2),
        filler=gen.filler(city, district, facility, r.randint(600, 1800)),
        funding=r.choice(("财政资金", "自筹资金", "专项债券资金")), scope=r.choice(ib.SCOPES),
        sep=r.choice((" ", "\n")),  # contact blocks on one line or one field a line
    )  # fmt: skip


def template_notice(gen: ib.Generator, t: dict, i: int, prev: dict | None) -> tuple[Article, dict]:
    """A notice of agency template `t`; `prev`, the template's last notice, may share its batch."""
    r, (_, city, district), owner, agent = gen.rng, t["region"], t["owner"], t["agent"]
    if prev and r.random() < 0.35:  # another lot of the same batch: same dates and contacts
        f = dict(prev)
    else:
        pub = gen.start + datetime.timedelta(days=r.randrange(gen.days))
        deadline = pub + datetime.timedelta(days=r.randint(20, 30))
        people, phones = (gen.person(), gen.person()), (gen.phone(), gen.phone())
        f = dict(pub=pub, deadline=deadline, people=people, phones=phones)
    (p0, p1), (ph0, ph1), pub = f["people"], f["phones"], f["pub"]
    kind, place = ("中标结果公告" if t["award"] else "施工招标公告"), []

    def make():
        place[:] = ["".join(gen.place())]
        return f"{city}{district}{place[0]}{t['facility']}工程{kind}"

    title = gen.unique_title(make)
    project, amount, days = title.removesuffix(kind), gen.wan(80, 60000)[0], r.randint(90, 900)
    if t["award"]:
        paragraphs = [
            f"招标项目名称:{project}", f"招标编号:{r.randrange(10**15, 10**16)}",
            f"招标人:{owner}", f"招标代理:{agent}", f"中标人:{gen.org(city, ib.BUILDER_KINDS)}",
            f"中标价:{amount}万元", f"工期:{days}日历天", f"项目经理:{gen.person()}",
            "质量标准:合格", *t["filler"], *t["quals"],
            f"公示期:{cn(pub)}至{cn(pub + datetime.timedelta(days=3))}。投标人或者其他利害关系人"
            "对中标结果有异议的,应当在公示期内向招标人提出。",
            f"招标人联系人:{p0} 电话:{ph0}", f"招标代理联系人:{p1} 电话:{ph1}",
        ]  # fmt: skip
    else:
        h = [t["headings"].format(n="一二三四五六"[k], i=k + 1, s=x)
             for k, x in enumerate(SECTIONS.split("|"))]  # fmt: skip
        paragraphs = [
            h[0],
            f"本招标项目{project}已由{city}{district}发展和改革局批准建设,项目业主为{owner},"
            f"建设资金来自{t['funding']},项目出资比例为100%,招标人为{owner}。项目已具备招标"
            f"条件,现对该项目的{t['scope']}进行公开招标。",
            h[1],
            f"建设地点:{city}{district}{place[0]}。建设规模:总建筑面积约{r.randint(1, 30)}"
            f"万平方米,主要建设内容包括{t['facility']}及配套工程。招标控制价:{amount}万元。"
            f"计划工期:{days}日历天。标段划分:一个标段。",
            *t["filler"], h[2], *t["quals"], h[3],
            f"凡有意参加投标者,请于{cn(pub + datetime.timedelta(days=2))}起登录{city}市公共"
            "资源交易平台下载电子招标文件。",
            h[4], f"投标文件递交的截止时间(投标截止时间,下同)为{cn(f['deadline'])}9时30分。",
            h[5], t["sep"].join((f"招标人:{owner}", f"联系人:{p0}", f"电话:{ph0}")),
            t["sep"].join((f"招标代理机构:{agent}", f"联系人:{p1}", f"电话:{ph1}")),
        ]  # fmt: skip
    category, url = ("中标公告" if t["award"] else "招标公告"), f"http://{t['host']}/{i:06d}.html"
    return Article(title, pub, t["region"], category, paragraphs, url), f


def repost(gen: ib.Generator, a: Article, edits: tuple, titles: list) -> str:
    r, paragraphs = gen.rng, list(a.paragraphs)
    if "drop" in edits:
        del paragraphs[r.randrange(len(paragraphs))]
    if "add" in edits:  # a paragraph of its own, or at the end of one
        sentence, j = r.choice(ADDED).format(n=r.randint(3, 30)), r.randrange(len(paragraphs))
        if r.random() < 0.5:
            paragraphs.insert(j, sentence)
        else:
            paragraphs[j] += sentence
    site = r.choice(SITES)
    url = f"https://www.example-{SITES.index(site)}.cn/news/{r.randrange(10**8)}.html"
    published = a.published + datetime.timedelta(days=r.randint(0, 3))
    a = a._replace(paragraphs=paragraphs, published=published, url=url)
    head = [site, r.choice(CHROME_HEAD).format(s=site)] if "header" in edits else [ib.HEADER]
    tail = "" if "header" in edits else None  # no source-URL line, no own footer
    if "footer" in edits:
        lines = r.sample(CHROME_FOOT, r.randint(2, 6)) + [f"{site} 版权所有"] * r.randint(0, 1)
        if "推荐阅读" in lines:
            lines[lines.index("推荐阅读") + 1 : 0] = r.sample(titles, 2)
        values = dict(paper=r.choice(PAPERS), person=gen.person(), other=r.choice(titles))
        tail = "\n".join(line.format(**values) for line in lines)
    text = render(a, head, tail)
    if "width" in edits:  # the whole page; digits in 70 % of the reposts
        wide = {k: v for k, v in WIDE.items() if not k.isdigit() or r.random() < 0.7}
        text = text.translate(str.maketrans(wide))
    return text


def update(gen: ib.Generator, a: Article) -> tuple[Article, str]:
    """The same project re-issued with another deadline or amount."""
    r, text = gen.rng, "\n\n".join(a.paragraphs)
    if (m := DEADLINE.search(text)) and r.random() < 0.5:
        new = datetime.date(*map(int, m.groups())) + datetime.timedelta(days=r.randint(3, 21))
        text, what = text[: m.start(1)] + cn(new) + text[m.end(3) + 1 :], "deadline"
    else:
        m = AMOUNT.search(text)
        value = (int(m[1].replace(",", "")) + int(m[2]) / 100) * r.uniform(0.8, 1.2)
        new = f"{value:{',' if ',' in m[1] else ''}.2f}"
        text, what = text[: m.start()] + new + "万元" + text[m.end() :], "amount"
    published = a.published + datetime.timedelta(days=r.randint(1, 10))
    b = a._replace(title=a.title + "(变更)", paragraphs=text.split("\n\n"), published=published)
    return b._replace(url=a.url.replace(".html", "-update.html")), what


def build(args) -> tuple[list[Doc], Counter]:
    gen = NoticeGenerator(ib.FALLBACK_REGIONS, seed=args.seed)
    r, docs, articles, last, counts = gen.rng, [], [], {}, Counter()
    templates = [make_template(gen) for _ in range(args.templates)]
    for i in range(args.originals):
        if r.random() < args.template_share:
            k = r.randrange(len(templates))
            a, last[k] = template_notice(gen, templates[k], i, last.get(k))
            docs.append(Doc(i, i, "template", render(a), template=k))
        else:
            a = from_generator(gen, i)
            docs.append(Doc(i, i, "original", render(a)))
        articles.append(a)
    titles = [a.title for a in articles]
    for i, a in enumerate(articles):
        for _ in range((r.random() < 0.4) + (r.random() < 0.06)):
            edits = tuple(e for e in EDITS if r.random() < 0.45) or (r.choice(EDITS),)
            counts.update(edits)
            text = repost(gen, a, edits, titles)
            docs.append(Doc(len(docs), i, "repost", text, edits, docs[i].template))
        if r.random() < 0.05:
            b, what = update(gen, a)
            counts["update " + what] += 1
            n = len(docs)
            docs.append(Doc(n, n, "update", render(b), (what,), docs[i].template, source=i))
    r.shuffle(docs)
    return docs, counts


def describe(d: Doc) -> str:
    tpl = f" tpl{d.template}" if d.template is not None else ""
    return f"#{d.id} {'+'.join((d.kind, *d.edits))}{tpl} (article {d.group})"


def diff(a: str, b: str, limit: int = 3) -> str:
    """The differing places of two normalised bodies: op …context[a's text→b's text]."""
    x, y = nd.normalise(a), nd.normalise(b)
    ops = [o for o in SequenceMatcher(None, x, y, autojunk=False).get_opcodes() if o[0] != "equal"]
    shown = [f"{t} …{x[max(i - 6, 0) : i]}[{x[i:j][:24]}→{y[k:m][:24]}]" for t, i, j, k, m in ops]
    return "; ".join(shown[:limit]) + (f" (+{len(ops) - limit} more)" if len(ops) > limit else "")


def pair_kind(a: Doc, b: Doc) -> str:
    if a.group == b.group:
        return "twins"
    if b.group == a.source or a.group == b.source:
        return "update vs original"
    return "same template" if a.template is not None and a.template == b.template else "other"


def timed(totals: Counter, key: str, fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    totals[key] += time.perf_counter() - started
    return result


def run(docs: list[Doc]) -> dict:
    """storing._near_duplicate, page by page, over an in-memory index."""
    index, slot, indexed = {}, {}, Counter()  # slot: insertion order, the importer's pk
    by_id = {d.id: d for d in docs}
    s = dict(predicted=[], misses=[], errors=[], outcomes=[], t=Counter(), pairs=Counter())
    for d in docs:
        try:
            d.body = join_paragraphs(timed(s["t"], "parse", parse_text, d.text).paragraphs)
        except ParseError as exc:
            s["errors"].append(f"{describe(d)}: {exc}")
            continue
        bands = timed(s["t"], "signature", nd.signature_bands, d.body)
        shared = Counter(j for band in set(bands) for j in index.get(band, ()))
        ranked = sorted(shared, key=lambda j: (-shared[j], -slot[j]))[:TOP]
        match = None
        for j in ranked:
            verdict = timed(s["t"], "compare", nd.compare, d.body, by_id[j].body)
            s["pairs"][pair_kind(d, by_id[j]), verdict.duplicate] += 1
            if verdict.duplicate:
                match = (d, by_id[j], verdict)
                break
        if indexed[d.group]:  # a labelled twin was indexed before this page
            hit = match is not None and match[1].group == d.group
            twins = [by_id[j] for j in slot if by_id[j].group == d.group]
            twin = match[1] if hit else twins[0]
            s["outcomes"].append((set(d.edits) | set(twin.edits), hit))
            if not hit:
                rank = ranked.index(twin.id) + 1 if twin.id in ranked else None
                verdict = nd.compare(d.body, twin.body)
                s["misses"].append((d, twin, verdict, shared[twin.id], rank))
        if match:
            s["predicted"].append(match)
            continue
        slot[d.id] = len(slot)
        indexed[d.group] += 1
        for band in bands:
            index.setdefault(band, []).append(d.id)
    return s


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--originals", type=int, default=400, help="original notices (400)")
    parser.add_argument("--templates", type=int, default=6, help="agency templates (6)")
    parser.add_argument("--template-share", type=float, default=0.5, help="of originals (0.5)")
    parser.add_argument("--seed", type=int, default=ib.SEED, help=f"random seed ({ib.SEED})")
    args = parser.parse_args(argv)
    docs, edits = build(args)
    started = time.perf_counter()
    s = run(docs)
    run_s, t, pairs, n = time.perf_counter() - started, s["t"], s["pairs"], len(docs)
    by_id, kinds = {d.id: d for d in docs}, Counter(d.kind for d in docs)
    reposts = [d for d in docs if d.kind == "repost"]
    per_template = Counter(d.template for d in docs if d.kind == "template")
    same_fp = sum(fingerprint(d) == fingerprint(by_id[d.group]) for d in reposts)
    chrome_left = [  # reposts with only chrome / width edits whose body is not the original's
        describe(d)
        for d in reposts
        if set(d.edits) <= {"header", "footer", "width"}
        and nd.normalise(d.body) != nd.normalise(by_id[d.group].body)
    ]
    tp = sum(d.group == other.group for d, other, _ in s["predicted"])
    fp = [m for m in s["predicted"] if m[0].group != m[1].group]
    eligible, predicted, calls = len(s["outcomes"]), len(s["predicted"]), sum(pairs.values())
    precision, recall = tp / max(predicted, 1), tp / max(eligible, 1)
    ok_p, ok_r = precision >= TARGET_PRECISION, recall >= TARGET_RECALL
    met = {True: "met", False: "**not met**"}

    def recall_for(*want):
        rows = [hit for got, hit in s["outcomes"] if set(want) <= got]
        return f"{'+'.join(want)} {sum(rows)}/{len(rows)}"

    figures = [
        ("Set", f"{n} pages: {kinds['original'] + kinds['template']} originals "
         f"({kinds['template']} from {args.templates} agency templates: "
         f"{sum(k * (k - 1) // 2 for k in per_template.values()):,} same-template negative "
         f"pairs), {len(reposts)} reposts (edits: " + ", ".join(f"{e} {edits[e]}" for e in EDITS)
         + f"), {kinds['update']} updates that are not reposts (amount "
         f"{edits['update amount']}, deadline {edits['update deadline']}); seed {args.seed}"),
        ("Detector", f"{nd.BANDS}×{nd.ROWS} LSH bands, the top {TOP} band sharers "
         f"verified by compare() (MIN_RATIO {nd.MIN_RATIO}, MAX_EDIT_BLOCKS "
         f"{nd.MAX_EDIT_BLOCKS}, MIN_NUMBER_CONTAINMENT {nd.MIN_NUMBER_CONTAINMENT})"),
        ("Result", f"{predicted} predicted duplicates: TP {tp}, FP {len(fp)}; FN "
         f"{len(s['misses'])} of {eligible} pages with an earlier-indexed twin; precision "
         f"**{precision:.4f}** (target ≥ {TARGET_PRECISION} {met[ok_p]}), recall "
         f"**{recall:.4f}** (target ≥ {TARGET_RECALL} {met[ok_r]})"),
        ("Recall by edit", ", ".join([*map(recall_for, EDITS), recall_for("drop", "add")])),
        ("compare() calls (judged duplicate)", ", ".join(
            f"{k} {pairs[k, False] + pairs[k, True]} ({pairs[k, True]})"
            for k in ("same template", "update vs original", "twins", "other"))),
        ("Timing", f"parse {t['parse'] / n * 1e3:.2f} ms/page, signature "
         f"{t['signature'] / n * 1e3:.2f} ms/page, compare "
         f"{t['compare'] / max(calls, 1) * 1e3:.2f} ms/call ({calls} calls); run {run_s:.1f} s"),
        ("Checks", f"{len(s['errors'])} parse errors, {len(chrome_left)} chrome/width-only "
         f"reposts whose body differs from the original's; {same_fp} reposts keep the "
         "original's normalised_fingerprint (the exact check catches those first)"),
    ]  # fmt: skip
    for label, text in figures:
        print(f"{label}: {text.replace('**', '')}")
    for line in s["errors"][:5] + chrome_left[:5]:
        print(f"  {line}")
    print(f"\nfalse positives ({len(fp)}):")
    for d, other, v in fp:
        print(f"  {describe(d)} judged a repost of {describe(other)}, similarity {v.similarity:.3f}"
              f"\n    diff: {diff(d.body, other.body)}")  # fmt: skip
    print(f"\nfalse negatives ({len(s['misses'])}, first 12):")
    for d, twin, v, shared, rank in s["misses"][:12]:
        where = f"rank {rank}" if rank else f"not in the top {TOP}"
        print(f"  {describe(d)} vs {describe(twin)}: {shared} shared bands ({where}); compare: "
              f"{v.reason or 'duplicate'}, similarity {v.similarity:.3f}\n"
              f"    diff: {diff(d.body, twin.body)}")  # fmt: skip
    measured = ["news/importing", "news/text.py"]
    dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", *measured])
    commit = commit_id() + (" + uncommitted news/importing changes" if dirty.returncode else "")
    command = " ".join([".venv/bin/python bench/near_duplicates_eval.py", *(argv or sys.argv[1:])])
    print("\n---- paste into BENCHMARKS.md " + "-" * 40)
    print(f"#### {datetime.date.today()} · {commit} — near-duplicate labelled set\n")
    cores = len(os.sched_getaffinity(0))
    print(f"- Machine: {cores} cores (nproc), Python {platform.python_version()}")
    print(f"- Command: `{command}`")
    for label, text in figures:
        print(f"- {label}: {text}")
    print("-" * 70)
    return 0 if ok_p and ok_r else 1


def fingerprint(d: Doc) -> str:
    return normalised_fingerprint(parse_text(d.text))


if __name__ == "__main__":
    sys.exit(main())
