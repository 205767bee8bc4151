"""The evaluation data sets, each a list of labelled documents.

* ``generated-bbc`` — the syndication generator over the BBC corpus (real texts, 5 topics);
* ``ecbplus`` — ECB+: 43 topics × 2 similar events; gold = event cluster;
* ``counter`` — COUNTER (Urdu): agency story → newspaper story pairs, WD / PD / ND;
* ``helsinki`` — 612 real articles on one news event from 75 outlets, unlabelled.

Third-party files are read from ../shared at run time (``aggregator.devdata``); a data set
whose files are absent raises :class:`DataMissing` with the reason, never anything else.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aggregator.credits import AliasTable
from aggregator.devdata import missing_reason, shared_path
from aggregator.types import OutletConfig
from eval.outlets import alias_table, outlet_pool
from eval.records import NEGATIVE, ORIGINAL, UNLABELLED, Doc
from eval.sources import read_bbc
from eval.syndication import DEFAULT_SEED, Plan, generate

#: The smaller generated set of ``--quick``.
QUICK_PLAN = Plan(
    originals=120,
    same_topic=45,
    shared_boilerplate=15,
    templates=45,
    empties=6,
    boilerplate_only=4,
    teasers=12,
)
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class DataMissing(Exception):
    """A data set's files are not there; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    docs: list[Doc]
    aliases: AliasTable
    description: str
    plan: Plan | None = None


def _require(*parts: str) -> Path:
    path = shared_path(*parts)
    if not path.exists():
        raise DataMissing(missing_reason(str(path)))
    return path


def load_generated_bbc(quick: bool) -> Dataset:
    plan = QUICK_PLAN if quick else Plan()
    sources = read_bbc(_require("eval", "bbc"))
    docs = generate(sources, plan)
    copies = sum(d.role not in {ORIGINAL, NEGATIVE} for d in docs)
    description = (
        f"{len(docs)} documents from {plan.originals} BBC originals (seed {plan.seed}): "
        f"{copies} copies and rewrites, {sum(d.role == NEGATIVE for d in docs)} hard "
        f"negatives; {len(outlet_pool(DEFAULT_SEED))} fictional outlets over {plan.days} days"
    )
    return Dataset("generated-bbc", docs, alias_table(outlet_pool(plan.seed)), description, plan)


def load_ecbplus(quick: bool) -> Dataset:
    del quick  # small enough to run whole
    path = _require("eval", "ecbplus", "ecbplus_docs.jsonl")
    docs: list[Doc] = []
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, start=1):
            row = json.loads(line)
            sentences = [s for s in row["text"].split("\n") if s.strip()]
            host = urlsplit(row["source_url"] or "").hostname or "ecb"
            docs.append(
                Doc(
                    doc_id=n,
                    story=row["event_cluster"],
                    role=UNLABELLED,
                    kinds=(row["subtopic"],),
                    outlet=host,
                    title=sentences[0] if sentences else "",
                    text="\n\n".join(sentences),  # one sentence per line: one per paragraph
                    first_seen_at=_EPOCH + timedelta(minutes=n),
                    topic=str(row["topic"]),
                    origin=row["doc_id"],
                )
            )
    description = (
        f"{len(docs)} documents, {len({d.story for d in docs})} events in "
        f"{len({d.topic for d in docs})} topics (two similar events per topic)"
    )
    return Dataset("ecbplus", docs, AliasTable(), description)


def _counter_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%d.%m.%y").replace(tzinfo=UTC)
    except ValueError:
        return _EPOCH


def load_counter(quick: bool) -> Dataset:
    del quick
    path = _require("eval", "counter", "counter_pairs.jsonl")
    docs: list[Doc] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            day = _counter_date(row["source"].get("newsdate", ""))
            for offset, side in enumerate(("source", "derived")):
                part = row[side]
                docs.append(
                    Doc(
                        doc_id=len(docs) + 1,
                        story=f"pair-{row['pair_id']}",
                        role=ORIGINAL if side == "source" else UNLABELLED,
                        kinds=(row["label"],),
                        outlet=part.get("newspaper", side),
                        title=part.get("headline", ""),
                        text=part.get("body", ""),
                        first_seen_at=day + timedelta(hours=6 + 6 * offset),
                        topic=row.get("domain", ""),
                        origin=part.get("filename", ""),
                    )
                )
    # The agency as a user tracking Urdu outlets would configure it: its Urdu name is how
    # the newspapers' datelines credit it ("لاہور (اے پی پی)").
    agency = OutletConfig("APP", None, ("اے پی پی", "Associated Press of Pakistan"), ())
    return Dataset(
        "counter",
        docs,
        AliasTable.from_outlets([agency]),
        f"{len(docs) // 2} Urdu agency → newspaper pairs, all in one stream; the agency (APP) "
        "is a tracked outlet with its Urdu name as an alias",
    )


def load_helsinki(quick: bool) -> Dataset:
    del quick
    path = _require("eval", "articlecomparisons", "helsinki_articles.csv")
    csv.field_size_limit(1 << 26)
    docs: list[Doc] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            paragraphs = [p.strip() for p in row["text"].split(" ### ") if p.strip()]
            try:
                seen = datetime.fromisoformat(row["scrape_time"]).astimezone(UTC)
            except ValueError:
                seen = _EPOCH
            docs.append(
                Doc(
                    doc_id=int(row["id"]),
                    story=f"h{row['id']}",
                    role=UNLABELLED,
                    kinds=("unlabelled",),
                    outlet=row["publisher"],
                    title=paragraphs[0] if paragraphs else "",
                    text="\n\n".join(paragraphs),
                    first_seen_at=seen,
                    origin=f"helsinki_articles.csv id {row['id']}",
                )
            )
    description = (
        f"{len(docs)} real articles from {len({d.outlet for d in docs})} outlets, "
        "15-20 Jul 2018, no duplicate labels"
    )
    return Dataset("helsinki", docs, AliasTable(), description)


LOADERS: dict[str, Callable[[bool], Dataset]] = {
    "generated-bbc": load_generated_bbc,
    "ecbplus": load_ecbplus,
    "counter": load_counter,
    "helsinki": load_helsinki,
}
