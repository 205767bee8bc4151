"""A generator of realistic syndication: a labelled multi-outlet stream from source articles.

For each original it writes what real syndication does — verbatim copies with new outlet
furniture, new headlines, trimmed copies, heavy page boilerplate, dropped and swapped
paragraphs, write-thru ledes, wire datelines, typographic noise, and rewrites that keep a
few quotes and credit the original — and adds hard negatives: same-topic stories of the
same week, TEMPLATE stories (same wording, other facts), one outlet's boilerplate on
different stories, empty bodies, boilerplate-only pages and short teasers.

Every item has an outlet, a published time and a first-seen time (copies come minutes to
hours after their original), so the stream can also drive the provenance evaluation.
Deterministic for a given seed and source list.

    python -m eval.syndication --from-seeds --out tests/data/quality/syndication.jsonl
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eval import negatives, textgen
from eval.outlets import OutletSpec, article_url, outlet_pool, photo_caption, related_line
from eval.records import COPY, ORIGINAL, REWRITE, Doc, write_jsonl
from eval.sources import SourceArticle, distinct_sources

COPY_KINDS = (
    "verbatim",
    "reheadlined",
    "trimmed",
    "boilerplate",
    "dropped_reordered",
    "writethru",
    "dateline",
    "typographic",
)
#: PRODUCT.md §5 "wire copies": recall ≥ 0.97 at precision ≥ 0.99 is promised for these.
WIRE_COPY_KINDS = frozenset({"verbatim", "reheadlined", "trimmed", "boilerplate"})
NEGATIVE_KINDS = (
    "same_topic",
    "template",
    "shared_boilerplate",
    "empty",
    "boilerplate_only",
    "teaser",
)
#: Kinds that can be added on top of another (verbatim means "nothing but furniture").
_MODIFIERS = ("reheadlined", "trimmed", "boilerplate", "dateline", "typographic")
_DATELINE_CITIES = (
    "LONDON",
    "WASHINGTON",
    "PARIS",
    "BRUSSELS",
    "TOKYO",
    "NEW YORK",
    "BERLIN",
    "NAIROBI",
    "SYDNEY",
    "MUMBAI",
    "GENEVA",
    "JOHANNESBURG",
)
DEFAULT_SEED = 20250303
#: Reporters' names for page bylines (invented).
BYLINE_NAMES = (
    "Ada Kerrigan", "Bo Lindahl", "Chidi Nwosu", "Dora Pell", "Emil Strand", "Farah Qadri",
    "Gus Marlowe", "Hana Ueda", "Ivo Petrak", "Jade Okoro", "Staff reporter", "Newsdesk",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mix:
    """The generator's knobs: tuned so that copy-pair overlap resembles real syndication
    (QUALITY.md prints generated quantiles next to the real AP/Reuters ones)."""

    copy_weights: tuple[tuple[str, float], ...] = (
        ("verbatim", 0.12),
        ("reheadlined", 0.10),
        ("trimmed", 0.16),
        ("boilerplate", 0.16),
        ("dropped_reordered", 0.08),
        ("writethru", 0.20),
        ("dateline", 0.09),
        ("typographic", 0.09),
    )
    second_kind: float = 0.45  # chance a copy also gets one modifier
    third_kind: float = 0.15  # … and another
    copies: tuple[int, int] = (2, 6)  # copies per original (inclusive)
    rewrite_share: float = 0.55  # chance a story also gets a credited rewrite
    trim: tuple[float, float] = (0.25, 0.9)  # share of paragraphs a trimmed copy keeps
    more_stories: float = 0.5  # chance a furnished page lists other stories with their ledes
    more_stories_count: tuple[int, int] = (2, 8)  # … how many
    writethru_changes: tuple[int, int] = (2, 6)  # paragraphs a write-thru replaces, adds, drops
    rewrite_keep: tuple[float, float] = (0.15, 0.6)  # share of other sentences a rewrite keeps
    rewrite_paraphrase: tuple[float, float] = (0.3, 0.9)  # … of those, share paraphrased
    rewrite_own: tuple[int, int] = (2, 5)  # sentences of its own a rewrite adds
    wire_share: float = 0.55  # share of originals published by a wire
    copy_lag_minutes: float = 45.0  # median lag of a copy (log-normal)
    rewrite_lag_minutes: float = 240.0  # median lag of a rewrite


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of everything to generate."""

    seed: int = DEFAULT_SEED
    originals: int = 400
    same_topic: int = 150
    shared_boilerplate: int = 40
    templates: int = 120
    template_copy_share: float = 0.25
    empties: int = 20
    boilerplate_only: int = 10
    teasers: int = 40
    days: int = 28
    start: datetime = datetime(2025, 3, 3, tzinfo=UTC)
    mix: Mix = field(default_factory=Mix)


@dataclass(slots=True)
class Draft:
    """A document before ids are assigned (ids follow first-seen order)."""

    key: int
    story: str
    role: str
    kinds: tuple[str, ...]
    outlet: OutletSpec
    title: str
    paragraphs: list[str]
    published: datetime
    seen: datetime
    parent: int | None = None
    topic: str = ""
    source_outlet: str | None = None
    credited: str | None = None
    origin: str = ""
    noisy: bool = False  # typographic noise goes over the assembled text


class Generator:
    """Builds the labelled stream; one instance per generated set."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.mix = plan.mix
        self.rng = random.Random(plan.seed)
        self.outlets = outlet_pool(plan.seed)
        self.wires = [o for o in self.outlets if o.wire]
        self.papers = [o for o in self.outlets if not o.wire]
        self.drafts: list[Draft] = []
        self.others: list[SourceArticle] = []
        self._stories = 0

    # --- the stream ---------------------------------------------------------------------

    def generate(self, sources: Sequence[SourceArticle]) -> list[Doc]:
        """Every document, ids in first-seen order."""
        pool = distinct_sources(sources)
        self.rng.shuffle(pool)
        originals, rest = pool[: self.plan.originals], pool[self.plan.originals :]
        self.others = pool
        for n, source in enumerate(originals):
            day = n * self.plan.days / max(1, len(originals))
            self._story(source, self.moment(day))
        negatives.add_same_topic(self, rest[: self.plan.same_topic])
        negatives.add_templates(self)
        negatives.add_shared_boilerplate(self, rest[self.plan.same_topic :])
        negatives.add_empties_and_teasers(self)
        return self._finish()

    def moment(self, day: float) -> datetime:
        hours = self.rng.uniform(6, 22)
        return self.plan.start + timedelta(days=math.floor(day), hours=hours)

    def new_story(self) -> str:
        self._stories += 1
        return f"s{self._stories:04d}"

    def add(
        self,
        story: str,
        role: str,
        kinds: tuple[str, ...],
        *,
        outlet: OutletSpec,
        title: str,
        paragraphs: list[str],
        published: datetime,
        parent: Draft | None = None,
        topic: str = "",
        source_outlet: str | None = None,
        credited: str | None = None,
        origin: str = "",
        noisy: bool = False,
    ) -> Draft:
        """Record a document; it is first seen after a poll delay of 1–30 minutes, and
        never before the item it was derived from."""
        seen = published + timedelta(minutes=self.rng.uniform(1, 30))
        if parent is not None:
            seen = max(seen, parent.seen + timedelta(minutes=1))
        draft = Draft(
            key=len(self.drafts),
            story=story,
            role=role,
            kinds=kinds,
            outlet=outlet,
            title=title,
            paragraphs=paragraphs,
            published=published,
            seen=seen,
            parent=None if parent is None else parent.key,
            topic=topic,
            source_outlet=source_outlet or outlet.name,
            credited=credited,
            origin=origin,
            noisy=noisy,
        )
        self.drafts.append(draft)
        return draft

    def _lag(self, median_minutes: float) -> timedelta:
        minutes = median_minutes * math.exp(self.rng.gauss(0, 1.0))
        return timedelta(minutes=min(max(minutes, 3.0), 36 * 60.0))

    def after(self, parent: Draft, median_minutes: float) -> datetime:
        """A derived item's published time: its parent's plus a log-normal lag."""
        return parent.published + self._lag(median_minutes)

    # --- originals and their copies -------------------------------------------------------

    def _story(self, source: SourceArticle, when: datetime) -> None:
        wire = self.rng.random() < self.mix.wire_share
        outlet = self.rng.choice(self.wires if wire else self.papers)
        original = self.add(
            self.new_story(),
            ORIGINAL,
            (ORIGINAL,),
            outlet=outlet,
            title=source.title,
            paragraphs=list(source.paragraphs),
            published=when,
            topic=source.topic,
            origin=source.key,
        )
        used = {outlet.name}
        for _ in range(self.rng.randint(*self.mix.copies)):
            kinds = self._copy_kinds(wire)
            self.copy(original, source, kinds, self.other_outlet(used))
        if self.rng.random() < self.mix.rewrite_share:
            self._rewrite(original, source, self.other_outlet(used, papers_only=True))

    def other_outlet(self, used: set[str], *, papers_only: bool = False) -> OutletSpec:
        pool = self.papers if papers_only or self.rng.random() < 0.9 else self.outlets
        free = [o for o in pool if o.name not in used] or self.papers
        outlet = self.rng.choice(free)
        used.add(outlet.name)
        return outlet

    def _copy_kinds(self, wire: bool) -> tuple[str, ...]:
        names = [k for k, _ in self.mix.copy_weights if wire or k != "dateline"]
        weights = [w for k, w in self.mix.copy_weights if wire or k != "dateline"]
        first = self.rng.choices(names, weights)[0]
        kinds = [first]
        if first != "verbatim":
            for chance in (self.mix.second_kind, self.mix.third_kind):
                extra = [m for m in _MODIFIERS if m not in kinds and (wire or m != "dateline")]
                if self.rng.random() < chance and extra:
                    kinds.append(self.rng.choice(extra))
        return tuple(k for k in COPY_KINDS if k in kinds)

    def copy(
        self, original: Draft, source: SourceArticle, kinds: tuple[str, ...], outlet: OutletSpec
    ) -> Draft:
        names = textgen.story_names(list(source.paragraphs), source.title)
        body = self._edit_body(list(source.paragraphs), kinds, names, original.outlet)
        if "boilerplate" in kinds:
            body = self._furnish(body, outlet, names, source.title)
        title = source.title
        if "reheadlined" in kinds or ("writethru" in kinds and self.rng.random() < 0.5):
            title = textgen.new_headline(self.rng, source.title, body[0], names)
        credited = original.outlet.name if "dateline" in kinds else None
        return self.add(
            original.story,
            COPY,
            kinds,
            outlet=outlet,
            title=title,
            paragraphs=body,
            published=self.after(original, self.mix.copy_lag_minutes),
            parent=original,
            topic=original.topic,
            source_outlet=original.outlet.name,
            credited=credited,
            noisy="typographic" in kinds,
        )

    def _edit_body(
        self, body: list[str], kinds: tuple[str, ...], names: list[str], wire: OutletSpec
    ) -> list[str]:
        """Content edits in the order that keeps every copy a copy: the outlet trims the
        wire text it received, and a write-thru then rewrites at most a third of that."""
        if "trimmed" in kinds and len(body) >= 2:
            keep = math.ceil(self.rng.uniform(*self.mix.trim) * len(body))
            body = body[: max(1, min(keep, len(body) - 1))]
        if "dropped_reordered" in kinds and len(body) >= 4:
            for _ in range(self.rng.randint(1, 2 if len(body) >= 8 else 1)):
                body.pop(self.rng.randrange(1, len(body)))
            i, j = sorted(self.rng.sample(range(1, len(body)), 2))
            body[i], body[j] = body[j], body[i]
        if "writethru" in kinds:
            body = self._write_through(body, names)
        if "dateline" in kinds:
            body = self._dateline(body, wire)
        return body

    def _write_through(self, body: list[str], names: list[str]) -> list[str]:
        """A wire's later version: a new top of 1–3 paragraphs, a few new paragraphs
        further down, and some of the old ones gone."""
        rng = self.rng

        def fresh() -> str:
            count = rng.randint(1, 2)
            return " ".join(
                textgen.lede_sentences(rng, names, count)
                if rng.random() < 0.5
                else textgen.context_sentences(rng, names, count)
            )

        low, high = self.mix.writethru_changes
        # The update keeps at least about half of the story: it is a version, not a new one.
        third = max(1, len(body) // 3)
        replaced = min(rng.randint(low, high), third)
        body = [fresh() for _ in range(rng.randint(1, min(3, third)))] + body[replaced:]
        for _ in range(min(rng.randint(0, high), third)):
            body.insert(rng.randint(2, len(body)), fresh())
        for _ in range(min(rng.randint(0, high), len(body) // 5)):
            body.pop(rng.randrange(3, len(body)))
        return body

    def _dateline(self, body: list[str], wire: OutletSpec) -> list[str]:
        style = self.rng.random()
        if style < 0.5:
            city = self.rng.choice(_DATELINE_CITIES)
            return [f"{city} ({wire.short}) — {body[0]}", *body[1:]]
        if style < 0.75:
            return [f"({wire.aliases[-1]}) - {body[0]}", *body[1:]]
        return [f"By {self.rng.choice((wire.name, 'The ' + wire.name))}", *body]

    def _furnish(
        self, body: list[str], outlet: OutletSpec, names: list[str], title: str
    ) -> list[str]:
        """Heavy page furniture: header, caption, ads, related links, footer."""
        rng = self.rng
        page = list(outlet.header[: rng.randint(1, 3)])
        page.append(body[0])
        if rng.random() < 0.6:
            page.append(photo_caption(rng, names[0]))
        for n, paragraph in enumerate(body[1:], start=1):
            page.append(paragraph)
            if n % rng.randint(2, 4) == 0 and rng.random() < 0.6:
                page.append("Advertisement")
        for _ in range(rng.randint(1, 3)):
            page.insert(
                rng.randint(2, len(page)), related_line(rng, outlet, self._others(4, title))
            )
        if rng.random() < self.mix.more_stories:
            page.append(f"More from {outlet.name}")
            count = rng.randint(*self.mix.more_stories_count)
            for other, lede in self._teasers(count, title):
                page.extend((other, lede))
        page.extend(outlet.footer[: rng.randint(2, 4)])
        return page

    def _others(self, count: int, title: str) -> list[str]:
        return [other for other, _ in self._teasers(count, title)]

    def _teasers(self, count: int, title: str) -> list[tuple[str, str]]:
        """Headlines and first paragraphs of other stories (not the one titled ``title``),
        for related-stories blocks."""
        picked = self.rng.sample(self.others, min(count + 1, len(self.others)))
        return [(s.title, s.paragraphs[0]) for s in picked if s.title != title][:count]

    # --- rewrites -------------------------------------------------------------------------

    def _rewrite(self, original: Draft, source: SourceArticle, outlet: OutletSpec) -> Draft:
        """The outlet's own article: a credit, 2–4 verbatim quotes or sentences, some more
        sentences kept (part of them lightly paraphrased), and sentences of its own."""
        rng = self.rng
        names = textgen.story_names(list(source.paragraphs), source.title)
        sentences = [s for p in source.paragraphs for s in textgen.split_sentences(p)]
        anchors = self._anchors(sentences)
        keep = rng.uniform(*self.mix.rewrite_keep)
        para = rng.uniform(*self.mix.rewrite_paraphrase)
        kept: list[str] = []
        for n, sentence in enumerate(sentences[1:], start=1):
            if n in anchors:
                kept.append(sentence)
            elif rng.random() < keep:
                kept.append(textgen.paraphrase(sentence, rng) if rng.random() < para else sentence)
        credit_name = rng.choice((original.outlet.name, *original.outlet.aliases))
        lede = self._credit_lede(sentences[0], source.title, outlet, credit_name, names)
        own = textgen.context_sentences(rng, names, rng.randint(*self.mix.rewrite_own))
        for sentence in own:
            kept.insert(rng.randint(0, len(kept)), sentence)
        body = [lede, *self._group(kept)]
        if rng.random() < 0.3:
            body.append(f"The story was first reported by {credit_name}.")
        kinds: tuple[str, ...] = ("rewrite",)
        if rng.random() < 0.2:
            body, kinds = (
                self._furnish(body, outlet, names, source.title),
                ("rewrite", "boilerplate"),
            )
        title = textgen.new_headline(rng, source.title, sentences[0], names)
        return self.add(
            original.story,
            REWRITE,
            kinds,
            outlet=outlet,
            title=title,
            paragraphs=body,
            published=self.after(original, self.mix.rewrite_lag_minutes),
            parent=original,
            topic=original.topic,
            source_outlet=original.outlet.name,
            credited=original.outlet.name,
        )

    def _anchors(self, sentences: list[str]) -> set[int]:
        """2–4 sentences kept verbatim, quotes first (never the lede, which is credited)."""
        quotes = [i for i, s in enumerate(sentences) if i and ('"' in s or "“" in s)]
        others = [i for i in range(1, len(sentences)) if i not in quotes]
        self.rng.shuffle(quotes)
        self.rng.shuffle(others)
        return set((quotes + others)[: self.rng.randint(2, 4)])

    def _credit_lede(
        self, first: str, title: str, outlet: OutletSpec, source: str, names: list[str]
    ) -> str:
        style = self.rng.random()
        if style < 0.3:
            return f"{title.rstrip('.!?')}, {outlet.name} reports via {source}. {first}"
        if style < 0.55:
            return f"{source} reported that {textgen.lower_first(first, names)}"
        if style < 0.8:
            return f"According to {source}, {textgen.lower_first(first, names)}"
        return f"{first.rstrip('.')}, {source} reported."

    def _group(self, sentences: list[str]) -> list[str]:
        paragraphs: list[str] = []
        while sentences:
            take = self.rng.randint(1, 3)
            paragraphs.append(" ".join(sentences[:take]))
            sentences = sentences[take:]
        return paragraphs

    # --- ids and text ---------------------------------------------------------------------

    def _page(self, draft: Draft) -> list[str]:
        """The body with the furniture every page of the outlet has: a byline and time
        on top, the outlet's short line at the bottom (an empty body stays empty)."""
        if not draft.paragraphs or draft.kinds == ("teaser",):
            return list(draft.paragraphs)  # a teaser is a bare feed summary
        author = self.rng.choice(BYLINE_NAMES)
        stamp = f"{author} | {draft.published:%d %B %Y, %H:%M} UTC"
        return [stamp, *draft.paragraphs, draft.outlet.light]

    def _finish(self) -> list[Doc]:
        order = sorted(self.drafts, key=lambda d: (d.seen, d.key))
        ids = {d.key: n for n, d in enumerate(order, start=1)}
        docs: list[Doc] = []
        for draft in order:
            text = "\n\n".join(self._page(draft))
            title = draft.title
            if draft.noisy:
                text = textgen.typographic(text, self.rng)
            docs.append(
                Doc(
                    doc_id=ids[draft.key],
                    story=draft.story,
                    role=draft.role,
                    kinds=draft.kinds,
                    outlet=draft.outlet.name,
                    title=title,
                    text=text,
                    first_seen_at=draft.seen,
                    published_at=draft.published,
                    url=article_url(draft.outlet, draft.published, title, ids[draft.key]),
                    parent=None if draft.parent is None else ids[draft.parent],
                    topic=draft.topic,
                    source_outlet=draft.source_outlet,
                    credited=draft.credited,
                    origin=draft.origin,
                )
            )
        return docs


def generate(sources: Sequence[SourceArticle], plan: Plan | None = None) -> list[Doc]:
    """The labelled stream for these sources (see :class:`Plan`)."""
    return Generator(plan or Plan()).generate(sources)


#: The committed quality-floor set: our own seed articles, a few of every kind.
SEEDS_PLAN = Plan(
    originals=100,
    same_topic=0,
    shared_boilerplate=6,
    templates=24,
    template_copy_share=0.25,
    empties=3,
    boilerplate_only=2,
    teasers=5,
    days=7,
    start=datetime(2026, 3, 2, tzinfo=UTC),
    mix=Mix(copies=(3, 4), rewrite_share=1.0),
)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.syndication``: write a generated set as JSON Lines."""
    parser = argparse.ArgumentParser(prog="python -m eval.syndication", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-seeds", action="store_true", help="our own seeds/ feeds")
    source.add_argument("--from-bbc", action="store_true", help="../shared/eval/bbc")
    parser.add_argument("--out", type=Path, required=True, help="the .jsonl file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.from_seeds:
        from eval.sources import read_seed_feeds

        repo = Path(__file__).resolve().parent.parent
        docs = generate(read_seed_feeds(repo / "seeds"), replace(SEEDS_PLAN, seed=args.seed))
    else:
        from aggregator.devdata import missing_reason, shared_path
        from eval.sources import read_bbc

        folder = shared_path("eval", "bbc")
        if not folder.is_dir():
            print(missing_reason(str(folder)))
            return 1
        docs = generate(read_bbc(folder), Plan(seed=args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    count = write_jsonl(docs, args.out)
    print(f"wrote {count} documents to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
