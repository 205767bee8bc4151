"""Tests of provenance: plausible times, the first reporter, copy versus rewrite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.provenance import (
    CONTESTED,
    COPY_CONTAINMENT,
    COPY_JACCARD,
    FEED_CACHE_ALLOWANCE,
    FUTURE_TOLERANCE,
    NEAR_TIE,
    assess_cluster,
    choose_first,
    credit_of,
    credits_present,
    earliest_time,
    is_plausible,
    latest_time,
    ordering_time,
    relation_of,
    trusted_time,
)
from aggregator.types import Basis, Credit, CreditKind, MemberFacts, Relation, Similarity

T0 = datetime(2026, 2, 27, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
REPORTING, WIRE = CreditKind.REPORTING, CreditKind.WIRE
SOURCE, CANONICAL = CreditKind.SOURCE, CreditKind.CANONICAL


def member(
    article_id: int,
    outlet: str,
    *,
    seen: timedelta,
    published: timedelta | None = None,
    absent: timedelta | None = None,
    credits: tuple[Credit, ...] = (),
) -> MemberFacts:
    """A member first seen at T0 + seen; published and absent_at relative to T0 too."""
    return MemberFacts(
        article_id=article_id,
        outlet=outlet,
        published_at=None if published is None else T0 + published,
        first_seen_at=T0 + seen,
        absent_at=None if absent is None else T0 + absent,
        credits=credits,
    )


def credit(outlet: str | None, kind: CreditKind = REPORTING, name: str | None = None) -> Credit:
    return Credit(name=name or outlet or "?", kind=kind, outlet=outlet)


def no_similarity(a: int, b: int) -> Similarity | None:
    return None


def similar(value: float) -> Callable[[int, int], Similarity | None]:
    def similarity_to(a: int, b: int) -> Similarity:
        return Similarity(jaccard=value, containment=value, shared_passages=0)

    return similarity_to


# --- plausibility ------------------------------------------------------------------------


def test_missing_published_time_is_not_plausible() -> None:
    m = member(1, "A", seen=0 * MIN)
    assert not is_plausible(m)
    assert trusted_time(m) == T0


def test_published_time_a_little_ahead_of_our_clock_is_plausible() -> None:
    assert is_plausible(member(1, "A", seen=0 * MIN, published=FUTURE_TOLERANCE))
    assert is_plausible(member(1, "A", seen=0 * MIN, published=-2 * MIN))


def test_published_time_beyond_the_future_tolerance_is_not_plausible() -> None:
    m = member(1, "A", seen=0 * MIN, published=FUTURE_TOLERANCE + timedelta(seconds=1))
    assert not is_plausible(m)
    assert trusted_time(m) == T0


def test_published_before_a_fetch_that_lacked_the_item_is_not_plausible() -> None:
    # the feed was fetched at T0 without the item; it is first seen at T0 + 30 min
    early = member(1, "A", seen=30 * MIN, absent=0 * MIN, published=-FEED_CACHE_ALLOWANCE - MIN)
    assert not is_plausible(early)
    assert trusted_time(early) == T0 + 30 * MIN


def test_published_within_the_feed_cache_allowance_is_plausible() -> None:
    cached = member(1, "A", seen=30 * MIN, absent=0 * MIN, published=-FEED_CACHE_ALLOWANCE)
    assert is_plausible(cached)
    assert trusted_time(cached) == T0 - FEED_CACHE_ALLOWANCE


def test_without_an_absent_fetch_any_past_time_is_plausible() -> None:
    assert is_plausible(member(1, "A", seen=0 * MIN, published=-timedelta(days=3)))


# --- the first reporter ------------------------------------------------------------------


def test_first_reporter_is_the_earliest_trusted_time() -> None:
    a = member(1, "A", seen=20 * MIN, published=5 * MIN)
    b = member(2, "B", seen=10 * MIN, published=8 * MIN)
    first, basis = choose_first([b, a])
    assert (first, basis) == (a, Basis.PUBLISHED)


def test_implausible_early_clock_does_not_win() -> None:
    honest = member(1, "A", seen=20 * MIN, published=0 * MIN)
    # claims 08:00, yet the feed was fetched at 09:50 without it; seen at 10:30
    liar = member(2, "B", seen=30 * MIN, published=-120 * MIN, absent=-10 * MIN)
    first, basis = choose_first([liar, honest])
    assert (first, basis) == (honest, Basis.PUBLISHED)


def test_future_clock_falls_back_to_first_seen() -> None:
    future = member(1, "A", seen=0 * MIN, published=120 * MIN)  # trusted: T0
    later = member(2, "B", seen=5 * MIN, published=5 * MIN)
    first, basis = choose_first([later, future])
    assert (first, basis) == (future, Basis.OBSERVED)


def test_observed_basis_when_the_first_has_no_published_time() -> None:
    a = member(1, "A", seen=0 * MIN)
    b = member(2, "B", seen=30 * MIN, published=25 * MIN)
    assert choose_first([a, b]) == (a, Basis.OBSERVED)


def test_ties_fall_back_to_first_seen_then_article_id() -> None:
    a = member(7, "A", seen=10 * MIN, published=0 * MIN)
    b = member(3, "B", seen=5 * MIN, published=0 * MIN)
    c = member(2, "C", seen=5 * MIN, published=0 * MIN)
    assert choose_first([a, b, c])[0] is c


def test_a_crediting_article_is_not_the_original_while_the_credited_outlet_is_present() -> None:
    """The seed case with AzerNEWS's clock ahead of Politico's."""
    azernews = member(
        1,
        "AzerNEWS",
        seen=0 * MIN,
        published=-30 * MIN,
        credits=(credit("Politico"), credit("CBS News")),
    )
    politico = member(2, "Politico", seen=60 * MIN, published=50 * MIN)
    first, basis = choose_first([azernews, politico])
    assert (first, basis) == (politico, Basis.CREDIT)


def test_a_wire_or_metadata_credit_also_keeps_an_article_from_being_the_original() -> None:
    for kind in (WIRE, SOURCE, CANONICAL):
        copy = member(1, "B", seen=0 * MIN, credits=(credit("AP", kind),))
        wire = member(2, "AP", seen=30 * MIN)
        assert choose_first([copy, wire]) == (wire, Basis.CREDIT), kind


def test_a_crediting_article_is_the_original_when_the_credited_outlet_is_absent() -> None:
    azernews = member(1, "AzerNEWS", seen=0 * MIN, published=0 * MIN, credits=(credit("Politico"),))
    other = member(2, "Caspian Daily", seen=60 * MIN, published=50 * MIN)
    assert choose_first([azernews, other]) == (azernews, Basis.PUBLISHED)


def test_untracked_credits_do_not_move_the_original() -> None:
    a = member(1, "A", seen=0 * MIN, credits=(credit(None, name="The Caspian Times"),))
    b = member(2, "B", seen=10 * MIN)
    assert choose_first([a, b])[0] is a


def test_credit_to_the_members_own_outlet_does_not_count() -> None:
    a = member(1, "A", seen=0 * MIN, credits=(credit("A"),))
    a2 = member(2, "A", seen=5 * MIN)
    assert not credits_present(a, {"A"})
    assert choose_first([a, a2])[0] is a


def test_when_every_member_credits_another_the_earliest_is_first() -> None:
    a = member(1, "A", seen=0 * MIN, published=0 * MIN, credits=(credit("B"),))
    b = member(2, "B", seen=10 * MIN, published=10 * MIN, credits=(credit("A"),))
    assert choose_first([b, a]) == (a, Basis.PUBLISHED)


def test_the_credited_outlet_beats_an_uncredited_member_seen_after_the_crediting_one() -> None:
    rewrite = member(1, "AzerNEWS", seen=0 * MIN, published=0 * MIN, credits=(credit("Politico"),))
    copy = member(2, "Caspian Daily", seen=20 * MIN, published=20 * MIN)
    # Politico's item was only seen late (its feed failed for an hour), without a date
    politico = member(3, "Politico", seen=80 * MIN)
    first, basis = choose_first([rewrite, copy, politico])
    assert (first.outlet, basis) == ("Politico", Basis.CREDIT)


# --- lying clocks, measured by the provenance evaluation (eval/provenance.py) ------------


def test_a_plausible_claim_before_the_fetch_that_lacked_the_item_counts_from_that_fetch() -> None:
    original = member(1, "A", seen=10 * MIN, published=0 * MIN, absent=-5 * MIN)
    # backdated by 20 minutes: within the cache allowance, but its feed lacked it at 10:05
    copy = member(2, "B", seen=20 * MIN, published=-20 * MIN, absent=5 * MIN)
    assert is_plausible(copy)
    assert trusted_time(copy) == T0 - 20 * MIN  # what is shown stays the claim
    assert ordering_time(copy) == T0 + 5 * MIN  # what is ordered by starts at the fetch
    assert choose_first([copy, original]) == (original, Basis.PUBLISHED)


def test_an_undated_member_is_placed_in_the_middle_of_its_polling_gap() -> None:
    undated = member(1, "A", seen=20 * MIN, absent=-20 * MIN)  # appeared 9:40-10:20
    dated = member(2, "B", seen=15 * MIN, published=5 * MIN, absent=2 * MIN)
    assert ordering_time(undated) == T0
    assert choose_first([dated, undated]) == (undated, Basis.OBSERVED)


def test_a_gap_wider_than_polling_says_nothing_and_lowers_the_confidence() -> None:
    # the feed failed for four hours: the undated item appeared sometime in that window
    undated = member(1, "A", seen=20 * MIN, absent=-4 * 60 * MIN)
    dated = member(2, "B", seen=15 * MIN, published=5 * MIN, absent=2 * MIN)
    assert ordering_time(undated) == T0 + 20 * MIN
    state = assess_cluster([undated, dated], no_similarity)
    assert (state.first_article_id, state.basis) == (2, Basis.PUBLISHED)
    assert state.confidence == round(0.9 * CONTESTED, 2)


def test_an_outlet_the_others_credit_beats_an_earlier_claim_nobody_could_check() -> None:
    original = member(1, "A", seen=10 * MIN, published=0 * MIN, absent=-10 * MIN)
    rewrite = member(2, "B", seen=70 * MIN, published=60 * MIN, credits=(credit("A"),))
    # claims two hours earlier, from a feed we had never fetched before (no absent_at)
    copy = member(3, "C", seen=40 * MIN, published=-120 * MIN)
    assert choose_first([original, rewrite, copy]) == (original, Basis.CREDIT)


def test_an_earlier_claim_our_fetches_bound_still_beats_a_credited_outlet() -> None:
    original = member(1, "A", seen=10 * MIN, published=0 * MIN, absent=-10 * MIN)
    rewrite = member(2, "B", seen=70 * MIN, published=60 * MIN, credits=(credit("A"),))
    checked = member(3, "C", seen=-100 * MIN, published=-120 * MIN, absent=-125 * MIN)
    assert choose_first([original, rewrite, checked]) == (checked, Basis.PUBLISHED)


# --- hypothesis: invariants of choose_first ----------------------------------------------

OUTLETS = ("A", "B", "C", "D")


@st.composite
def clusters(draw: st.DrawFn) -> list[MemberFacts]:
    size = draw(st.integers(min_value=1, max_value=6))
    members = []
    for article_id in range(1, size + 1):
        outlet = draw(st.sampled_from(OUTLETS))
        credited = draw(st.lists(st.sampled_from((*OUTLETS, None)), max_size=2, unique=True))
        kinds = draw(st.lists(st.sampled_from(list(CreditKind)), min_size=2, max_size=2))
        minutes = st.integers(min_value=-180, max_value=180)
        members.append(
            member(
                article_id,
                outlet,
                seen=draw(st.integers(min_value=0, max_value=180)) * MIN,
                published=draw(st.none() | minutes.map(lambda m: m * MIN)),
                absent=draw(st.none() | minutes.map(lambda m: m * MIN)),
                credits=tuple(
                    credit(o, k, name=o or "Caspian Times")
                    for o, k in zip(credited, kinds, strict=False)
                ),
            )
        )
    return members


def _credits_a_member(m: MemberFacts, members: list[MemberFacts]) -> bool:
    present = {x.outlet for x in members}
    return any(c.outlet in present and c.outlet != m.outlet for c in m.credits)


@settings(max_examples=150, deadline=None)
@given(clusters())
def test_first_never_credits_another_members_outlet_unless_all_do(
    members: list[MemberFacts],
) -> None:
    first, _ = choose_first(members)
    if not all(_credits_a_member(m, members) for m in members):
        assert not _credits_a_member(first, members)


@settings(max_examples=150, deadline=None)
@given(clusters())
def test_first_is_the_earliest_of_the_members_that_credit_no_other_member(
    members: list[MemberFacts],
) -> None:
    """Earliest by effective time: a credited outlet had the story no later than whoever
    credits it, so its time is the earlier of its own and its earliest crediting member's.

    Changed with the provenance evaluation (docs/QUALITY.md, "provenance"): times are
    ``ordering_time`` (a claim before the fetch that lacked the item counts from that
    fetch; an untrusted time is the middle of a normal polling gap), and an outlet the
    others credit beats an earlier member unless our observations put that member
    certainly earlier (``latest_time`` before the credited one's ``earliest_time``).
    """

    def effective(m: MemberFacts) -> datetime:
        crediting = [
            ordering_time(x)
            for x in members
            if any(c.outlet == m.outlet for c in x.credits) and x.outlet != m.outlet
        ]
        return min([ordering_time(m), *crediting])

    credited = {c.outlet for x in members for c in x.credits if c.outlet != x.outlet}
    first, basis = choose_first(members)
    eligible = [m for m in members if not _credits_a_member(m, members)] or members
    assert first in eligible
    earlier = [m for m in eligible if effective(m) < effective(first)]
    if earlier:
        assert first.outlet in credited
        assert all(m.outlet not in credited for m in earlier)
        assert not any(latest_time(m) < earliest_time(first) for m in earlier)
    earliest = min(ordering_time(m) for m in members)
    if basis is not Basis.CREDIT:
        assert ordering_time(first) == earliest
        assert basis is (Basis.PUBLISHED if is_plausible(first) else Basis.OBSERVED)
    else:
        assert credited & {m.outlet for m in members}


@settings(max_examples=100, deadline=None)
@given(clusters())
def test_assess_cluster_gives_every_member_one_role_and_one_original(
    members: list[MemberFacts],
) -> None:
    state = assess_cluster(members, no_similarity)
    assert sorted(r.article_id for r in state.roles) == sorted(m.article_id for m in members)
    originals = [r for r in state.roles if r.relation is Relation.ORIGINAL]
    assert [r.article_id for r in originals] == [state.first_article_id]
    assert [r.at for r in state.roles] == sorted(r.at for r in state.roles)
    assert 0.0 < state.confidence <= 1.0


# --- relation: copy or rewrite -----------------------------------------------------------


def facts_with(*credits: Credit) -> MemberFacts:
    return member(2, "B", seen=10 * MIN, credits=credits)


@pytest.mark.parametrize("containment", [0.3, COPY_CONTAINMENT, 0.95, 1.0])
def test_reporting_credit_makes_a_rewrite_however_much_text_is_reused(containment: float) -> None:
    sim = Similarity(jaccard=containment, containment=containment, shared_passages=3)
    assert relation_of(facts_with(credit("Politico")), sim) is Relation.REWRITE


@pytest.mark.parametrize("containment", [0.2, 0.95])
def test_wire_credit_keeps_a_copy_a_copy(containment: float) -> None:
    sim = Similarity(jaccard=0.1, containment=containment, shared_passages=0)
    assert relation_of(facts_with(credit("AP", WIRE)), sim) is Relation.COPY


def test_reporting_credit_wins_over_a_wire_credit() -> None:
    m = facts_with(credit("AP", WIRE), credit("Politico"))
    assert relation_of(m, Similarity(1.0, 1.0, 5)) is Relation.REWRITE


@pytest.mark.parametrize(
    ("jaccard", "containment", "relation"),
    [
        (0.1, COPY_CONTAINMENT, Relation.COPY),
        (0.1, COPY_CONTAINMENT - 0.001, Relation.REWRITE),
        (COPY_JACCARD, 0.1, Relation.COPY),
        (COPY_JACCARD - 0.001, COPY_CONTAINMENT - 0.001, Relation.REWRITE),
        (1.0, 1.0, Relation.COPY),
    ],
)
def test_without_credits_the_similarity_thresholds_decide(
    jaccard: float, containment: float, relation: Relation
) -> None:
    sim = Similarity(jaccard=jaccard, containment=containment, shared_passages=0)
    assert relation_of(facts_with(), sim) is relation
    # metadata credits do not change the verdict
    assert relation_of(facts_with(credit("AP", SOURCE), credit("AP", CANONICAL)), sim) is relation


def test_without_a_similarity_a_member_is_a_rewrite() -> None:
    assert relation_of(facts_with(), None) is Relation.REWRITE


# --- assess_cluster ----------------------------------------------------------------------


def test_seed_case_politico_first_azernews_a_rewrite_crediting_politico() -> None:
    politico = member(
        1, "Politico", seen=20 * MIN, published=0 * MIN, credits=(credit("CBS News"),)
    )
    azernews = member(
        2,
        "AzerNEWS",
        seen=170 * MIN,
        published=162 * MIN,
        credits=(credit("Politico"), credit("CBS News")),
    )
    state = assess_cluster([azernews, politico], similar(0.95))
    assert (state.first_outlet, state.first_article_id) == ("Politico", 1)
    assert (state.basis, state.first_at) == (Basis.PUBLISHED, T0)
    original, rewrite = state.roles
    assert (original.article_id, original.relation, original.similarity) == (
        1,
        Relation.ORIGINAL,
        1.0,
    )
    assert original.credits_outlet is None
    assert (rewrite.article_id, rewrite.relation) == (2, Relation.REWRITE)
    assert rewrite.credits_outlet == "Politico"  # the original's outlet, not CBS News
    assert rewrite.similarity == 0.95
    assert rewrite.at == T0 + 162 * MIN


def test_member_roles_carry_similarity_to_the_original_and_their_relation() -> None:
    original = member(1, "AP", seen=0 * MIN, published=0 * MIN)
    copy = member(2, "B", seen=10 * MIN, credits=(credit("AP", WIRE),))
    trimmed = member(3, "C", seen=20 * MIN)
    rewrite = member(4, "D", seen=30 * MIN)
    sims = {
        2: Similarity(0.9, 1.0, 2),
        3: Similarity(0.4, 0.91234567, 0),
        4: Similarity(0.2, 0.5, 0),
    }

    def similarity_to(a: int, b: int) -> Similarity | None:
        assert b == 1  # always against the original
        return sims.get(a)

    state = assess_cluster([rewrite, trimmed, copy, original], similarity_to)
    roles = {r.article_id: r for r in state.roles}
    assert roles[2].relation is Relation.COPY and roles[2].credits_outlet == "AP"
    assert roles[3].relation is Relation.COPY and roles[3].similarity == 0.9123
    assert roles[4].relation is Relation.REWRITE and roles[4].similarity == 0.5
    assert roles[4].credits_outlet is None


def test_unknown_similarity_is_recorded_as_zero() -> None:
    a = member(1, "A", seen=0 * MIN)
    b = member(2, "B", seen=30 * MIN)
    roles = {r.article_id: r for r in assess_cluster([a, b], no_similarity).roles}
    assert roles[2].similarity == 0.0
    assert roles[2].relation is Relation.REWRITE


def test_credits_outlet_names_an_untracked_reporting_source() -> None:
    a = member(1, "A", seen=0 * MIN)
    b = member(
        2,
        "B",
        seen=30 * MIN,
        credits=(credit("X", WIRE), credit(None, REPORTING, name="The Caspian Times")),
    )
    roles = {r.article_id: r for r in assess_cluster([a, b], no_similarity).roles}
    assert roles[2].credits_outlet == "The Caspian Times"


def test_credited_source_is_the_untracked_source_the_first_reporter_credits() -> None:
    first = member(
        1, "A", seen=0 * MIN, published=0 * MIN, credits=(credit(None, name="The Caspian Times"),)
    )
    other = member(2, "B", seen=30 * MIN, credits=(credit("A"),))
    state = assess_cluster([first, other], no_similarity)
    assert state.first_outlet == "A"
    assert state.credited_source == "The Caspian Times"


def test_credited_source_is_a_tracked_outlet_credited_for_the_whole_article() -> None:
    wire = Credit("AP", CreditKind.WIRE, "Associated Press")  # "LONDON (AP) —": a wire copy
    first = member(1, "A", seen=0 * MIN, credits=(wire,))
    state = assess_cluster([first, member(2, "B", seen=30 * MIN)], no_similarity)
    assert state.credited_source == "Associated Press"


def test_a_tracked_outlet_cited_for_one_fact_is_not_the_credited_source() -> None:
    first = member(1, "A", seen=0 * MIN, credits=(credit("Politico"),))  # "Politico reported"
    state = assess_cluster([first, member(2, "B", seen=30 * MIN)], no_similarity)
    assert state.credited_source is None


def test_no_credited_source_when_the_first_reporter_credits_nobody() -> None:
    state = assess_cluster(
        [member(1, "A", seen=0 * MIN), member(2, "B", seen=9 * MIN, credits=(credit("A"),))],
        no_similarity,
    )
    assert state.credited_source is None


def test_a_cluster_needs_a_member() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        assess_cluster([], no_similarity)


def test_single_member_cluster_is_its_own_original_with_full_confidence() -> None:
    state = assess_cluster([member(1, "A", seen=0 * MIN, published=-MIN)], no_similarity)
    assert (state.first_article_id, state.basis, state.confidence) == (1, Basis.PUBLISHED, 1.0)
    assert [r.relation for r in state.roles] == [Relation.ORIGINAL]


def test_verbatim_copy_of_an_original_that_credits_a_third_outlet_is_a_copy() -> None:
    cbs = credit("CBS News")
    original = member(1, "Politico", seen=0 * MIN, published=0 * MIN, credits=(cbs,))
    copy = member(2, "Caspian Daily", seen=30 * MIN, published=25 * MIN, credits=(cbs,))
    state = assess_cluster([original, copy], similar(1.0))
    roles = {r.article_id: r for r in state.roles}
    assert roles[2].relation is Relation.COPY


# --- confidence --------------------------------------------------------------------------


def test_confidence_by_basis_when_the_others_are_well_behind() -> None:
    gap = NEAR_TIE + MIN
    published = [member(1, "A", seen=0 * MIN, published=0 * MIN), member(2, "B", seen=gap)]
    observed = [member(1, "A", seen=0 * MIN), member(2, "B", seen=gap)]
    credited = [
        member(1, "A", seen=0 * MIN, credits=(credit("B"),)),
        member(2, "B", seen=gap),
    ]
    assert assess_cluster(published, no_similarity).confidence == 0.9
    assert assess_cluster(observed, no_similarity).confidence == 0.6
    assert assess_cluster(credited, no_similarity).confidence == 0.95


def test_confidence_is_lower_on_a_near_tie() -> None:
    near = NEAR_TIE - timedelta(seconds=1)
    published = [member(1, "A", seen=0 * MIN, published=0 * MIN), member(2, "B", seen=near)]
    observed = [member(1, "A", seen=0 * MIN), member(2, "B", seen=near)]
    assert assess_cluster(published, no_similarity).confidence == 0.63
    assert assess_cluster(observed, no_similarity).confidence == 0.42
    exactly = [member(1, "A", seen=0 * MIN, published=0 * MIN), member(2, "B", seen=NEAR_TIE)]
    assert assess_cluster(exactly, no_similarity).confidence == 0.9


def test_a_credit_verdict_is_not_lowered_by_a_near_tie() -> None:
    members = [
        member(1, "A", seen=0 * MIN, credits=(credit("B"),)),
        member(2, "B", seen=MIN),
    ]
    state = assess_cluster(members, no_similarity)
    assert (state.basis, state.confidence) == (Basis.CREDIT, 0.95)


def test_credit_of_finds_the_credit_given_to_an_outlet() -> None:
    m = facts_with(credit("AP", WIRE), credit("Politico"))
    assert credit_of(m, "Politico") == credit("Politico")
    assert credit_of(m, "Reuters") is None
