"""Who reported first, and what every other member of a cluster is: copy or rewrite.

Publisher clocks lie, so a ``published_at`` is trusted only when it is plausible: not in
the future of our own sighting, and not earlier than a fetch of the same feed that did not
yet carry the item. Credits beat clocks: an article that credits an outlet present in the
cluster is not the original.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from aggregator.types import (
    Basis,
    ClusterState,
    Credit,
    CreditKind,
    MemberFacts,
    MemberRole,
    Relation,
    Similarity,
)

#: Publisher clocks a few minutes ahead of ours are common (unsynchronised servers, items
#: scheduled "for the top of the hour"); beyond this a timestamp is "in the future".
FUTURE_TOLERANCE = timedelta(minutes=10)
#: A feed may be served from a cache for a while after an item is published; an item can
#: therefore be missing from a fetch made up to this long after its publication.
FEED_CACHE_ALLOWANCE = timedelta(hours=1)
#: At or above this containment (or Jaccard) against the original, a member without a
#: reporting credit is a copy: the original's text, trimmed or re-headlined.
COPY_CONTAINMENT = 0.80
COPY_JACCARD = 0.70
#: Two members closer than this in time are nearly a tie: less confidence in "first".
NEAR_TIE = timedelta(minutes=10)


def is_plausible(member: MemberFacts) -> bool:
    """May we believe the publisher's timestamp of this member?"""
    published = member.published_at
    if published is None:
        return False
    if published > member.first_seen_at + FUTURE_TOLERANCE:
        return False
    return member.absent_at is None or published >= member.absent_at - FEED_CACHE_ALLOWANCE


def trusted_time(member: MemberFacts) -> datetime:
    """The time provenance believes: a plausible published_at, else our first sighting."""
    if is_plausible(member) and member.published_at is not None:
        return member.published_at
    return member.first_seen_at


def _order_key(member: MemberFacts) -> tuple[datetime, datetime, int]:
    return (trusted_time(member), member.first_seen_at, member.article_id)


def credits_present(member: MemberFacts, outlets: set[str]) -> bool:
    """Does this member credit another outlet that is in the cluster?"""
    return any(c.outlet in outlets and c.outlet != member.outlet for c in member.credits)


def choose_first(members: Sequence[MemberFacts]) -> tuple[MemberFacts, Basis]:
    """The first reporter and how it was decided.

    Members that credit another member's outlet are not candidates. A credit is also a
    statement about time: the credited outlet had the story no later than the article that
    credits it, so its effective time is the earlier of the two.
    """
    earliest = min(members, key=_order_key)
    outlets = {m.outlet for m in members}
    uncredited = [m for m in members if not credits_present(m, outlets)] or list(members)
    credited_by = _earliest_credit_times(members)

    def effective(m: MemberFacts) -> tuple[datetime, datetime, datetime, int]:
        own = trusted_time(m)
        return (min(own, credited_by.get(m.outlet, own)), own, m.first_seen_at, m.article_id)

    first = min(uncredited, key=effective)
    if first is not earliest:
        return first, Basis.CREDIT
    return first, Basis.PUBLISHED if is_plausible(first) else Basis.OBSERVED


def _earliest_credit_times(members: Sequence[MemberFacts]) -> dict[str, datetime]:
    """For each credited outlet, the trusted time of the earliest member crediting it."""
    found: dict[str, datetime] = {}
    for m in members:
        for credit in m.credits:
            if credit.outlet and credit.outlet != m.outlet:
                at = trusted_time(m)
                found[credit.outlet] = min(at, found.get(credit.outlet, at))
    return found


def _confidence(members: Sequence[MemberFacts], first: MemberFacts, basis: Basis) -> float:
    """A rough confidence in the first-reporter verdict, for display and ranking."""
    if len(members) == 1:
        return 1.0
    base = {Basis.CREDIT: 0.95, Basis.PUBLISHED: 0.9, Basis.OBSERVED: 0.6}[basis]
    others = [trusted_time(m) for m in members if m is not first]
    if basis is not Basis.CREDIT and min(others) - trusted_time(first) < NEAR_TIE:
        base *= 0.7
    return round(base, 2)


def _credited_outlet(member: MemberFacts, first: MemberFacts) -> str | None:
    """The source this member credits: the original's outlet when it credits it."""
    for credit in member.credits:
        if credit.outlet == first.outlet:
            return credit.outlet
    ranked = sorted(member.credits, key=lambda c: c.kind is not CreditKind.REPORTING)
    return (ranked[0].outlet or ranked[0].name) if ranked else None


def _credit_key(credit: Credit) -> str:
    return credit.outlet or credit.name.lower()


def relation_of(
    member: MemberFacts, similarity: Similarity | None, original: MemberFacts | None = None
) -> Relation:
    """Copy or rewrite, for a member that is not the original.

    A reporting credit ("via X", "X reported") makes a rewrite even when much text is
    reused; a wire credit ("(AP)", "By Reuters") keeps a copy a copy. A credit the member
    merely carries over from the original's own text ("CBS News reported" in both) says
    nothing about the member, so it does not count.
    """
    inherited = {_credit_key(c) for c in original.credits} if original else set()
    own = [c for c in member.credits if _credit_key(c) not in inherited]
    if original is not None:
        own += [c for c in member.credits if c.outlet == original.outlet and c not in own]
    if any(c.kind is CreditKind.REPORTING for c in own):
        return Relation.REWRITE
    if any(c.kind is CreditKind.WIRE for c in member.credits):
        return Relation.COPY
    if similarity is None:
        return Relation.REWRITE
    if similarity.containment >= COPY_CONTAINMENT or similarity.jaccard >= COPY_JACCARD:
        return Relation.COPY
    return Relation.REWRITE


def _credited_source(first: MemberFacts, outlets: set[str]) -> str | None:
    """A source the first reporter itself credits whose article is not in the cluster."""
    for credit in first.credits:
        if credit.outlet not in outlets or credit.outlet is None:
            return credit.outlet or credit.name
    return None


def assess_cluster(
    members: Sequence[MemberFacts],
    similarity_to: Callable[[int, int], Similarity | None],
) -> ClusterState:
    """Decide the first reporter, its basis and every member's role.

    ``similarity_to(a, b)`` compares two member articles by id (None when unknown).
    """
    if not members:
        raise ValueError("a cluster has at least one member")
    first, basis = choose_first(members)
    roles = []
    for member in sorted(members, key=_order_key):
        if member is first:
            at = trusted_time(member)
            roles.append(MemberRole(member.article_id, Relation.ORIGINAL, 1.0, None, at))
            continue
        sim = similarity_to(member.article_id, first.article_id)
        roles.append(
            MemberRole(
                article_id=member.article_id,
                relation=relation_of(member, sim, first),
                similarity=round(max(sim.jaccard, sim.containment), 4) if sim else 0.0,
                credits_outlet=_credited_outlet(member, first),
                at=trusted_time(member),
            )
        )
    return ClusterState(
        first_article_id=first.article_id,
        first_outlet=first.outlet,
        first_at=trusted_time(first),
        basis=basis,
        confidence=_confidence(members, first, basis),
        credited_source=_credited_source(first, {m.outlet for m in members}),
        roles=tuple(roles),
    )


def credit_of(member: MemberFacts, outlet: str) -> Credit | None:
    """The credit ``member`` gives to ``outlet``, if any."""
    return next((c for c in member.credits if c.outlet == outlet), None)
