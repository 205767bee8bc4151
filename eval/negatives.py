"""Hard negatives of the generated stream: stories of their own that must never merge.

* ``same_topic`` — other articles of a syndicated story's topic, published the same week;
* ``template`` — market closes, results, weather reports: shared wording, other facts
  (a quarter of them copied once, so the copies of a template story must still cluster);
* ``shared_boilerplate`` — short different stories on one outlet's heavy page furniture;
* ``empty`` / ``boilerplate_only`` — no body, or nothing but furniture;
* ``teaser`` — the first sentence or two of a story, published on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from eval import textgen
from eval.records import NEGATIVE, ORIGINAL
from eval.sources import SourceArticle
from eval.templates import TEMPLATES

if TYPE_CHECKING:
    from eval.syndication import Draft, Generator


def add_same_topic(gen: Generator, extra: Sequence[SourceArticle]) -> None:
    """Unsyndicated articles, each timed within three days of an original of its topic."""
    originals = [d for d in gen.drafts if d.role == ORIGINAL]
    anchors: dict[str, list[Draft]] = {}
    for draft in originals:
        anchors.setdefault(draft.topic, []).append(draft)
    for source in extra:
        anchor = gen.rng.choice(anchors.get(source.topic) or originals)
        outlet = gen.rng.choice(gen.outlets)
        gen.add(
            gen.new_story(),
            NEGATIVE,
            ("same_topic",),
            outlet=outlet,
            title=source.title,
            paragraphs=list(source.paragraphs),
            published=anchor.published + timedelta(days=gen.rng.uniform(-3, 3)),
            topic=source.topic,
            origin=source.key,
        )


def add_templates(gen: Generator) -> None:
    """Template stories spread over the plan's days, wires' reports and papers' weather."""
    makers = list(TEMPLATES.items())
    count = gen.plan.templates
    for n in range(count):
        topic, make = makers[n % len(makers)]
        day = n * gen.plan.days / max(1, count)
        title, paragraphs = make(gen.rng, int(day))
        outlet = gen.rng.choice(gen.papers if topic == "weather" else gen.wires)
        story = gen.add(
            gen.new_story(),
            NEGATIVE,
            ("template",),
            outlet=outlet,
            title=title,
            paragraphs=list(paragraphs),
            published=gen.moment(day),
            topic=topic,
        )
        if gen.rng.random() < gen.plan.template_copy_share:
            kinds = gen.rng.choice((("verbatim",), ("reheadlined",), ("boilerplate",)))
            if outlet.wire and gen.rng.random() < 0.4:
                kinds = ("dateline",)
            source = SourceArticle(f"template/{topic}", title, tuple(paragraphs), topic)
            gen.copy(story, source, kinds, gen.other_outlet({outlet.name}))


def add_shared_boilerplate(gen: Generator, extra: Sequence[SourceArticle]) -> None:
    """60–110 words of different stories inside the same heavy furniture of two outlets.

    Bodies come from unused sources, else from fresh template stories.
    """
    heavy = gen.rng.sample(gen.papers, 2)
    count = gen.plan.shared_boilerplate
    for n in range(count):
        if n < len(extra):
            title, paragraphs, topic = extra[n].title, list(extra[n].paragraphs), extra[n].topic
        else:
            topic, make = list(TEMPLATES.items())[n % len(TEMPLATES)]
            title, paragraphs = make(gen.rng, n)
        outlet = heavy[n % 2]
        body = first_words(paragraphs, gen.rng.randint(60, 110))
        gen.add(
            gen.new_story(),
            NEGATIVE,
            ("shared_boilerplate",),
            outlet=outlet,
            title=title,
            paragraphs=[*outlet.header, *body, "Advertisement", *outlet.footer],
            published=gen.moment(n * gen.plan.days / max(1, count)),
            topic=topic,
        )


def add_empties_and_teasers(gen: Generator) -> None:
    """Empty and furniture-only items next to real stories, and short teasers of them
    (18–32 words: the first sentences, cut like a feed summary when longer)."""
    stories = [d for d in gen.drafts if d.role == ORIGINAL]
    for n in range(gen.plan.empties + gen.plan.boilerplate_only):
        anchor = gen.rng.choice(stories)
        outlet = gen.rng.choice(gen.outlets)
        empty = n < gen.plan.empties
        gen.add(
            gen.new_story(),
            NEGATIVE,
            ("empty",) if empty else ("boilerplate_only",),
            outlet=outlet,
            title=f"LIVE: {anchor.title}",
            paragraphs=[] if empty else [*outlet.header, *outlet.footer],
            published=gen.after(anchor, 30.0),
            topic=anchor.topic,
        )
    for _ in range(gen.plan.teasers):
        anchor = gen.rng.choice(stories)
        outlet = gen.rng.choice(gen.outlets)
        limit = gen.rng.randint(18, 32)
        teaser = " ".join(first_words(anchor.paragraphs[:2], limit))
        words = teaser.split()
        if len(words) > limit:  # feeds cut a long first sentence: "… [Read more]"
            teaser = " ".join(words[:limit]) + " …"
        gen.add(
            gen.new_story(),
            NEGATIVE,
            ("teaser",),
            outlet=outlet,
            title=anchor.title,
            paragraphs=[teaser],
            published=gen.after(anchor, 20.0),
            topic=anchor.topic,
        )


def first_words(paragraphs: Sequence[str], limit: int) -> list[str]:
    """Whole sentences from the start, up to about ``limit`` words, as paragraphs."""
    out: list[str] = []
    total = 0
    for paragraph in paragraphs:
        sentences = textgen.split_sentences(paragraph)
        kept: list[str] = []
        for sentence in sentences:
            if total and total + len(sentence.split()) > limit:
                break
            kept.append(sentence)
            total += len(sentence.split())
        if kept:
            out.append(" ".join(kept))
        if total >= limit or len(kept) < len(sentences):
            break
    return out
