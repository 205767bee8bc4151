"""Who reported first, and what every other member of a cluster is: copy or rewrite.

Publisher clocks lie, so a ``published_at`` is trusted only when it is plausible: not in
the future of our own sighting, and not earlier than a fetch of the same feed that did not
yet carry the item (allowing for the feed's caching). Even a plausible time earlier than
that fetch only counts from the fetch on when members are ordered: a claim that needs the
cache as its excuse does not win the race. A member without a trustworthy time appeared on
its feed between the fetch that lacked it and our first sighting; ordering uses the middle
of that window when it is a normal polling gap, our sighting when the gap is wider (the
feed was failing: the time is unknown). Credits beat clocks: an article that credits an
outlet present in the cluster is not the original. Measured by ``python -m eval``
(docs/QUALITY.md, section "provenance").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

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
#: Several of the original's long paragraphs word for word, and half of the text: a copy
#: too (write-thrus and pages trimmed under heavy furniture fall below 0.8 containment;
#: evaluation: 16 % of generated copies were labelled rewrites without this rule).
COPY_PASSAGES = 2
COPY_PASSAGES_CONTAINMENT = 0.5
#: Two members closer than this in time are nearly a tie: less confidence in "first".
NEAR_TIE = timedelta(minutes=10)
#: An untrusted member's appearance window (fetch without it → first sighting) up to this
#: wide is a normal polling gap (default interval 30 min + 25 % jitter, or a feed's own
#: TTL up to an hour); its middle is the best estimate. Wider means the feed was failing or
#: rarely polled, and the window says little: our first sighting is used.
POLLING_GAP = timedelta(hours=2)
#: Confidence factor when another member may have been first: its time, or the chosen
#: first's, is only known within a window that overlaps the other's.
CONTESTED = 0.5


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


def appearance_window(member: MemberFacts) -> tuple[datetime, datetime] | None:
    """When an untrusted member appeared on its feed: after the fetch that lacked it and by
    our first sighting (None when the time is trusted or no such fetch is known)."""
    absent = member.absent_at
    if is_plausible(member) or absent is None or absent >= member.first_seen_at:
        return None
    return absent, member.first_seen_at


def ordering_time(member: MemberFacts) -> datetime:
    """The time members are ordered by when the first reporter is chosen.

    A plausible claim earlier than the fetch that did not carry the item counts from that
    fetch (only the feed's cache could explain it; an excuse does not win the race). An
    untrusted time is the middle of a normal polling gap, else our first sighting.
    """
    if is_plausible(member) and member.published_at is not None:
        absent = member.absent_at
        return max(member.published_at, absent) if absent is not None else member.published_at
    window = appearance_window(member)
    if window is not None and window[1] - window[0] <= POLLING_GAP:
        return window[0] + (window[1] - window[0]) / 2
    return member.first_seen_at


def _bounds(member: MemberFacts) -> tuple[datetime, datetime]:
    """The earliest and latest times the member may have appeared."""
    window = appearance_window(member)
    if window is not None:
        return window
    at = ordering_time(member)
    return at, at


def _order_key(member: MemberFacts) -> tuple[datetime, datetime, int]:
    return (ordering_time(member), member.first_seen_at, member.article_id)


def _display_key(member: MemberFacts) -> tuple[datetime, datetime, int]:
    return (trusted_time(member), member.first_seen_at, member.article_id)


def credits_present(member: MemberFacts, outlets: set[str]) -> bool:
    """Does this member credit another outlet that is in the cluster?"""
    return any(c.outlet in outlets and c.outlet != member.outlet for c in member.credits)


def choose_first(members: Sequence[MemberFacts]) -> tuple[MemberFacts, Basis]:
    """The first reporter and how it was decided.

    Members that credit another member's outlet are not candidates. A credit is also a
    statement about time: the credited outlet had the story no later than the article that
    credits it, so its effective time is the earlier of the two. And when the others credit
    an outlet, an uncredited member beats it only when our observations put it certainly
    earlier (its latest possible time before the credited one's earliest): an unverifiable
    clock, or a few minutes inside a polling gap, do not outweigh what the other outlets say.
    """
    earliest = min(members, key=_order_key)
    outlets = {m.outlet for m in members}
    candidates = [m for m in members if not credits_present(m, outlets)] or list(members)
    credited_by = _earliest_credit_times(members)

    def effective(m: MemberFacts) -> tuple[datetime, datetime, datetime, int]:
        own = ordering_time(m)
        return (min(own, credited_by.get(m.outlet, own)), own, m.first_seen_at, m.article_id)

    first = min(candidates, key=effective)
    sources = [m for m in candidates if m.outlet in credited_by]
    if sources and first.outlet not in credited_by:
        source = min(sources, key=effective)
        if not any(latest_time(m) < earliest_time(source) for m in candidates):
            first = source
    if first is not earliest:
        return first, Basis.CREDIT
    return first, Basis.PUBLISHED if is_plausible(first) else Basis.OBSERVED


def _checked(member: MemberFacts) -> bool:
    """A plausible claim that a fetch without the item bounds from below."""
    return is_plausible(member) and member.absent_at is not None


def earliest_time(member: MemberFacts) -> datetime:
    """The earliest time our observations allow for the member: its checked claim, the
    fetch that lacked it, or no bound at all."""
    if _checked(member):
        return ordering_time(member)
    return member.absent_at or datetime.min.replace(tzinfo=UTC)


def latest_time(member: MemberFacts) -> datetime:
    """The latest time our observations allow: its checked claim, else our first sighting."""
    return ordering_time(member) if _checked(member) else member.first_seen_at


def _earliest_credit_times(members: Sequence[MemberFacts]) -> dict[str, datetime]:
    """For each credited outlet, the ordering time of the earliest member crediting it."""
    found: dict[str, datetime] = {}
    for m in members:
        for credit in m.credits:
            if credit.outlet and credit.outlet != m.outlet:
                at = ordering_time(m)
                found[credit.outlet] = min(at, found.get(credit.outlet, at))
    return found


def _confidence(members: Sequence[MemberFacts], first: MemberFacts, basis: Basis) -> float:
    """A rough confidence in the first-reporter verdict, for display and ranking."""
    if len(members) == 1:
        return 1.0
    base = {Basis.CREDIT: 0.95, Basis.PUBLISHED: 0.9, Basis.OBSERVED: 0.6}[basis]
    if basis is Basis.CREDIT:
        return base
    others = [m for m in members if m is not first]
    if min(ordering_time(m) for m in others) - ordering_time(first) < NEAR_TIE:
        base *= 0.7
    latest = _bounds(first)[1]
    if any(_bounds(m)[0] < latest for m in others):
        base *= CONTESTED
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
    if (
        similarity.shared_passages >= COPY_PASSAGES
        and similarity.containment >= COPY_PASSAGES_CONTAINMENT
    ):
        return Relation.COPY  # a later version or a trimmed page: the original's paragraphs
    return Relation.REWRITE


#: Credits that say the whole article came from elsewhere (a wire copy, a republished
#: piece, a canonical link), as opposed to "CBS News reported that …", a citation of one fact.
_WHOLE_ARTICLE = (CreditKind.WIRE, CreditKind.SOURCE, CreditKind.CANONICAL)


def _credited_source(first: MemberFacts, outlets: set[str]) -> str | None:
    """Where the first reporter says its story came from, when that article is not here:
    any source that is not a tracked outlet (PRODUCT.md §3), or a tracked outlet credited
    for the whole article (its wire copy, say, was not in any feed we read)."""
    for credit in first.credits:
        if credit.outlet is None:
            return credit.name
    for credit in first.credits:
        if credit.outlet not in outlets and credit.kind in _WHOLE_ARTICLE:
            return credit.outlet
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
    for member in sorted(members, key=_display_key):
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
