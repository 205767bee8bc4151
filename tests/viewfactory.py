"""ClusterView fixtures for the output tests: a story with a copy and a credited rewrite, a
singleton, and a hostile cluster whose every text field tries to break out of its context.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aggregator.types import ArticleView, Basis, ClusterView, FirstReporter, Relation

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

HOSTILE_TEXT = '<script>alert("x")</script> & <img src=x onerror=alert(1)> \x00\x07\x1b\ud800\uffff'
HOSTILE_URL = "javascript:alert(document.cookie)"


def _host(outlet: str) -> str:
    return outlet.lower().replace(" ", "")


def make_article(
    article_id: int,
    outlet: str,
    *,
    cluster_id: int | None,
    relation: Relation | None,
    minutes: int = 0,
    title: str = "Senate passes sweeping chip subsidy bill",
    url: str | None = None,
    credits: tuple[str, ...] = (),
    credits_outlet: str | None = None,
    similarity: float | None = None,
) -> ArticleView:
    """Return one member article published ``minutes`` after T0."""
    at = T0 + timedelta(minutes=minutes)
    return ArticleView(
        id=article_id,
        outlet=outlet,
        feed_url=f"https://feeds.example/{article_id}.xml",
        guid=f"guid-{article_id}",
        url=url
        if url is not None
        else f"https://{outlet.lower().replace(' ', '')}.example/a/{article_id}",
        canonical_url=None,
        title=title,
        published_at=at,
        first_seen_at=at + timedelta(minutes=3),
        cluster_id=cluster_id,
        relation=relation,
        similarity=similarity,
        credits=credits,
        author=None,
        summary="",
        credits_outlet=credits_outlet,
        at=at,
    )


def make_cluster(
    cluster_id: int,
    members: tuple[ArticleView, ...],
    *,
    title: str | None = None,
    basis: Basis = Basis.PUBLISHED,
    credited_source: str | None = None,
) -> ClusterView:
    """Return a cluster whose fields are derived from ``members`` (the first is the original)."""
    first = members[0]
    outlets = tuple(dict.fromkeys(m.outlet for m in members))
    times = [m.at or m.first_seen_at for m in members]
    return ClusterView(
        id=cluster_id,
        title=title if title is not None else first.title,
        size=len(members),
        outlets=outlets,
        first_reporter=FirstReporter(
            outlet=first.outlet, article_id=first.id, url=first.url, at=times[0], basis=basis
        ),
        credited_source=credited_source,
        first_seen_at=min(times),
        last_seen_at=max(m.first_seen_at for m in members),
        confidence=0.9,
        members=members,
    )


def politico_cluster() -> ClusterView:
    """Politico's original, an MSN copy and an AzerNEWS rewrite crediting Politico."""
    cid = 17
    members = (
        make_article(101, "Politico", cluster_id=cid, relation=Relation.ORIGINAL, similarity=1.0),
        make_article(
            102, "MSN", cluster_id=cid, relation=Relation.COPY, minutes=40, similarity=0.97
        ),
        make_article(
            103,
            "AzerNEWS",
            cluster_id=cid,
            relation=Relation.REWRITE,
            minutes=95,
            title="US Senate approves chip bill, Politico reports",
            credits=("Politico", "CBS News"),
            credits_outlet="Politico",
            similarity=0.41,
        ),
    )
    return make_cluster(cid, members)


def singleton_cluster() -> ClusterView:
    """A story only one outlet carries, whose earliest article credits an untracked agency."""
    cid = 18
    only = make_article(
        201,
        "BBC",
        cluster_id=cid,
        relation=Relation.ORIGINAL,
        minutes=300,
        title="Floods close schools across the region",
        similarity=1.0,
    )
    return make_cluster(cid, (only,), basis=Basis.OBSERVED, credited_source="Yonhap")


def hostile_cluster() -> ClusterView:
    """Every text field hostile, every link executable; the renderers must stay inert."""
    cid = 19
    members = (
        make_article(
            301,
            HOSTILE_TEXT,
            cluster_id=cid,
            relation=Relation.ORIGINAL,
            title=HOSTILE_TEXT,
            url=HOSTILE_URL,
        ),
        make_article(
            302,
            "Evil\x00Outlet\"'><svg onload=alert(1)>",
            cluster_id=cid,
            relation=Relation.REWRITE,
            minutes=5,
            title="</title></item><item>injected",
            url=" JAVASCRIPT:alert(1)",
            credits=(HOSTILE_TEXT,),
            credits_outlet="<b onmouseover=alert(1)>x</b>",
        ),
        make_article(
            303,
            "Data",
            cluster_id=cid,
            relation=None,
            minutes=9,
            url="data:text/html,<script>1</script>",
        ),
    )
    return make_cluster(cid, members, credited_source="</description><script>alert(2)</script>")


def all_clusters() -> list[ClusterView]:
    """The three fixtures, newest activity first (as the store would list them)."""
    clusters = [politico_cluster(), singleton_cluster(), hostile_cluster()]
    return sorted(clusters, key=lambda c: c.last_seen_at, reverse=True)


def without_members(c: ClusterView) -> ClusterView:
    """Return ``c`` as a listing shows it (no members)."""
    return replace(c, members=())
