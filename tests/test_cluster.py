"""Tests of the verifier: similarity estimates, thresholds, credits, and the cluster choice."""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import astuple

import numpy as np
import pytest

from aggregator.cluster import (
    CREDITED_MIN_ANCHORS,
    CREDITED_MIN_CONTAINMENT,
    PASSAGES_PROVING_REUSE,
    THRESHOLDS,
    Candidate,
    Evidence,
    Threshold,
    credits_outlet,
    decide,
    estimate,
    is_clusterable,
    is_linked,
    is_same_story,
    threshold_for,
)
from aggregator.fingerprint import fingerprint_batch
from aggregator.settings import DedupSettings
from aggregator.types import Credit, CreditKind, Similarity

SETTINGS = DedupSettings()
BINS = SETTINGS.num_perm
CHANCE = 2.0**-16
REPORTING, WIRE = CreditKind.REPORTING, CreditKind.WIRE
SOURCE, CANONICAL = CreditKind.SOURCE, CreditKind.CANONICAL
_VOCABULARY = [f"{a}{b}{c}" for a in "bdgklmnprstvz" for b in "aeiou" for c in "nrstlmk"]


def signature(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**16, size=BINS, dtype=np.uint16)


def sharing(base: np.ndarray, matches: int, seed: int) -> np.ndarray:
    """A signature equal to ``base`` in exactly its first ``matches`` values."""
    other = base.copy()
    other[matches:] = base[matches:] ^ (1 + signature(seed)[matches:] % 0xFFFF).astype(np.uint16)
    assert int(np.count_nonzero(other == base)) == matches
    return other


def cand(
    article_id: int,
    sig: np.ndarray,
    shingles: int = 400,
    *,
    cluster: int = 0,
    anchors: int = 25,
    outlet: str = "",
) -> Candidate:
    return Candidate(article_id, cluster, sig, shingles, anchors, outlet)


def corrected(matches: int) -> float:
    """The Jaccard a share of equal 16-bit values stands for, net of chance matches."""
    return max(0.0, (matches / BINS - CHANCE) / (1 - CHANCE))


# --- estimate ------------------------------------------------------------------------------


@pytest.mark.parametrize("matches", [0, 1, 64, 128, 200, 255, 256])
def test_jaccard_is_the_share_of_equal_values_net_of_chance_matches(matches: int) -> None:
    base = signature(1)
    sim = estimate(cand(1, base), cand(2, sharing(base, matches, 2)))
    assert sim.jaccard == pytest.approx(corrected(matches), abs=1e-12)
    assert 0.0 <= sim.jaccard <= 1.0


def test_no_equal_values_estimate_zero_not_a_negative_number() -> None:
    base = signature(3)
    assert estimate(cand(1, base), cand(2, sharing(base, 0, 4))).jaccard == 0.0
    assert corrected(1) < 1 / BINS  # one equal value is slightly less than 1/256


def test_containment_comes_from_jaccard_and_the_set_sizes() -> None:
    base = signature(5)
    other = sharing(base, 64, 6)  # Jaccard ~0.25
    sim = estimate(cand(1, base, 400), cand(2, other, 100))
    j = corrected(64)
    assert sim.containment == pytest.approx(j * 500 / (1 + j) / 100)
    assert sim.containment > 0.99  # 100 shingles, all inside the 400: a trimmed copy
    same_size = estimate(cand(1, base, 400), cand(2, other, 400))
    assert same_size.containment == pytest.approx(2 * j / (1 + j))  # ~0.4


def test_containment_never_exceeds_one() -> None:
    base = signature(7)
    sim = estimate(cand(1, base, 1000), cand(2, sharing(base, 200, 8), 50))
    assert sim.containment == 1.0


def test_a_text_without_shingles_is_similar_to_nothing() -> None:
    base = signature(9)
    sim = estimate(cand(1, base, 0), cand(2, base, 300), Evidence(anchors=9, passages=2))
    assert astuple(sim) == (0.0, 0.0, 0, 0)


def test_estimate_is_symmetric() -> None:
    base = signature(10)
    a, b = cand(1, base, 700, anchors=40), cand(2, sharing(base, 90, 11), 150, anchors=9)
    evidence = Evidence(anchors=6, passages=1)
    assert astuple(estimate(a, b, evidence)) == astuple(estimate(b, a, evidence))


def test_shared_anchors_are_reported_but_do_not_raise_containment() -> None:
    # A short text has few anchors: their share is too noisy to stand for containment.
    base = signature(12)
    a, b = cand(1, base, 800, anchors=50), cand(2, sharing(base, 0, 13), 300, anchors=20)
    sim = estimate(a, b, Evidence(anchors=12))
    assert sim.shared_anchors == 12
    assert (sim.jaccard, sim.containment) == (0.0, 0.0)
    alike = cand(3, sharing(base, 200, 14), 800, anchors=50)
    assert estimate(a, alike, Evidence(anchors=30)).containment == estimate(a, alike).containment


def test_evidence_passages_are_reported_as_shared_passages() -> None:
    base = signature(18)
    sim = estimate(cand(1, base), cand(2, sharing(base, 10, 19)), Evidence(passages=3))
    assert sim.shared_passages == 3


def test_estimates_from_real_fingerprints_of_a_trimmed_copy() -> None:
    rng = random.Random(20)
    words = [rng.choice(_VOCABULARY) for _ in range(800)]
    full, half = fingerprint_batch([" ".join(words), " ".join(words[:400])], SETTINGS)
    sim = estimate(Candidate.of(1, full), Candidate.of(2, half))
    assert sim.jaccard == pytest.approx(396 / 796, abs=0.08)
    assert sim.containment >= 0.9
    assert Candidate.of(1, full).anchors == len(full.anchors) // 4


# --- thresholds ----------------------------------------------------------------------------


def test_thresholds_are_ordered_longest_first_and_stricter_for_shorter_texts() -> None:
    lengths = [row.min_shingles for row in THRESHOLDS]
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[-1] == 0  # every length has a row
    for longer, shorter in itertools.pairwise(THRESHOLDS):
        assert shorter.jaccard > longer.jaccard
        assert shorter.containment > longer.containment


@pytest.mark.parametrize("row", range(len(THRESHOLDS)))
def test_threshold_for_picks_the_row_by_the_shorter_texts_length(row: int) -> None:
    start = THRESHOLDS[row].min_shingles
    assert threshold_for(start) is THRESHOLDS[row]
    assert threshold_for(start + 1) is THRESHOLDS[row]
    if row > 0:
        assert threshold_for(THRESHOLDS[row - 1].min_shingles - 1) is THRESHOLDS[row]
    if start > 0:
        assert threshold_for(start - 1) is THRESHOLDS[row + 1]


@pytest.mark.parametrize("row", THRESHOLDS, ids=lambda r: f"min{r.min_shingles}")
def test_verification_boundaries_of_each_row(row: Threshold) -> None:
    length, eps = row.min_shingles, 1e-9
    assert is_same_story(Similarity(row.jaccard, 0.0, 0), length)
    assert is_same_story(Similarity(0.0, row.containment, 0), length)
    assert not is_same_story(Similarity(row.jaccard - eps, row.containment - eps, 0), length)


def test_a_short_pair_needs_more_than_a_long_pair() -> None:
    sim = Similarity(jaccard=0.45, containment=0.6, shared_passages=0)
    assert is_same_story(sim, 400)
    assert not is_same_story(sim, 40)


def test_shared_passages_prove_reuse_whatever_the_estimates() -> None:
    for length in (0, 59, 149, 5000):
        assert is_same_story(Similarity(0.0, 0.0, PASSAGES_PROVING_REUSE), length)
        assert not is_same_story(Similarity(0.0, 0.0, PASSAGES_PROVING_REUSE - 1), length)


def test_is_clusterable_needs_min_tokens_words() -> None:
    rng = random.Random(21)
    n = SETTINGS.min_tokens
    enough, short = fingerprint_batch(
        [" ".join(rng.choice(_VOCABULARY) for _ in range(k)) for k in (n, n - 1)], SETTINGS
    )
    assert is_clusterable(enough, SETTINGS)
    assert not is_clusterable(short, SETTINGS)
    assert not is_clusterable(fingerprint_batch([""], SETTINGS)[0], SETTINGS)


# --- the credited rule ---------------------------------------------------------------------

LOW = Similarity(jaccard=0.02, containment=0.05, shared_passages=0, shared_anchors=0)


def test_a_credited_rewrite_sharing_two_anchors_verifies_and_an_uncredited_one_does_not() -> None:
    sim = dataclasses.replace(LOW, shared_anchors=CREDITED_MIN_ANCHORS)
    assert is_same_story(sim, 400, credited=True)
    assert not is_same_story(sim, 400, credited=False)


def test_a_credit_alone_does_not_verify() -> None:
    assert not is_same_story(LOW, 400, credited=True)
    one_anchor = dataclasses.replace(LOW, shared_anchors=CREDITED_MIN_ANCHORS - 1)
    assert not is_same_story(one_anchor, 400, credited=True)


def test_a_credited_rewrite_verifies_with_one_passage_or_some_containment() -> None:
    assert is_same_story(dataclasses.replace(LOW, shared_passages=1), 400, credited=True)
    assert not is_same_story(dataclasses.replace(LOW, shared_passages=1), 400)
    at_floor = dataclasses.replace(LOW, containment=CREDITED_MIN_CONTAINMENT)
    assert is_same_story(at_floor, 400, credited=True)
    assert not is_same_story(at_floor, 400)
    below = dataclasses.replace(LOW, containment=CREDITED_MIN_CONTAINMENT - 0.01)
    assert not is_same_story(below, 400, credited=True)


@pytest.mark.parametrize(
    ("credit", "expected"),
    [
        (Credit("POLITICO", REPORTING, "Politico"), True),
        (Credit("Politico", WIRE, "Politico"), True),
        (Credit("politico.com", SOURCE, "Politico"), True),
        (Credit("politico.com", CANONICAL, "Politico"), False),  # a link, not a credit
        (Credit("CBS News", REPORTING, "CBS News"), False),  # another outlet
        (Credit("Politico Europe", REPORTING, None), False),  # not resolved to an outlet
    ],
)
def test_credits_outlet_counts_reporting_credits_to_that_outlet(
    credit: Credit, expected: bool
) -> None:
    assert credits_outlet([credit], "Politico") is expected


# --- decide --------------------------------------------------------------------------------


def test_nothing_proposed_or_nothing_verified_opens_a_new_cluster() -> None:
    base = signature(30)
    new = cand(100, base)
    assert decide(new, [], {}).cluster_id is None
    stranger = cand(1, sharing(base, 20, 31), cluster=1)
    assignment = decide(new, [(stranger, Evidence())], {1: stranger})
    assert assignment.cluster_id is None
    assert assignment.merge == ()


def test_the_best_verified_cluster_is_chosen() -> None:
    base = signature(32)
    weak_sig = sharing(base, 0, 33)
    weak_sig[151:] = base[151:]  # Jaccard ~0.41 to base
    weak = cand(1, weak_sig, cluster=1)
    strong = cand(2, sharing(base, 180, 34), cluster=2)  # Jaccard ~0.70 to base
    new = cand(100, base)
    candidates = [(weak, Evidence()), (strong, Evidence())]
    assignment = decide(new, candidates, {1: weak, 2: strong})
    assert assignment.cluster_id == 2
    assert assignment.matched_article_id == 2
    assert assignment.similarity is not None
    assert assignment.similarity.jaccard == pytest.approx(corrected(180))
    assert not is_same_story(estimate(weak, strong), 400)  # 29 values in common
    assert assignment.merge == ()


def test_equal_scores_choose_the_older_cluster() -> None:
    base = signature(35)
    twin = sharing(base, 200, 36)
    a, b = cand(1, twin, cluster=7), cand(2, twin, cluster=3)
    assignment = decide(cand(100, base), [(a, Evidence()), (b, Evidence())], {7: a, 3: b})
    assert assignment.cluster_id == 3
    assert assignment.merge == (7,)  # identical representatives verify: one story


def test_no_chaining_a_member_match_without_a_link_to_the_original_opens_a_cluster() -> None:
    original = signature(40)
    member = sharing(original, 150, 41)  # joined the cluster: Jaccard ~0.59 to the original
    new_sig = member.copy()
    new_sig[:140] = sharing(original, 0, 42)[:140]  # keeps 10 of the original's values
    rep, m, new = cand(1, original, cluster=1), cand(2, member, cluster=1), cand(100, new_sig)
    assert is_same_story(estimate(new, m), 400)  # it would verify against the member
    assert not is_linked(estimate(new, rep))  # but shares almost nothing with the original
    assignment = decide(new, [(m, Evidence(anchors=20, passages=3))], {1: rep})
    assert assignment.cluster_id is None


def test_a_drifting_version_joins_through_a_member_while_linked_to_the_original() -> None:
    original = signature(43)
    member = sharing(original, 150, 44)
    new_sig = member.copy()
    new_sig[:110] = sharing(original, 0, 45)[:110]  # Jaccard ~0.16 to the original
    rep, m, new = cand(1, original, cluster=1), cand(2, member, cluster=1), cand(100, new_sig)
    linked = Evidence(passages=1)  # the index found one long paragraph of the original
    sim = estimate(new, rep, linked)
    assert not is_same_story(sim, 400)
    assert is_linked(sim)
    assignment = decide(new, [(rep, linked), (m, Evidence())], {1: rep})
    assert assignment.cluster_id == 1
    assert assignment.matched_article_id == 1  # reported against the original
    assert assignment.similarity is not None
    assert assignment.similarity.jaccard == pytest.approx(sim.jaccard)
    # Without the shared paragraph the same match through the member is chaining.
    assert decide(new, [(rep, Evidence()), (m, Evidence())], {1: rep}).cluster_id is None


def test_a_drifting_match_needs_the_member_to_be_proposed() -> None:
    original = signature(46)
    member = sharing(original, 150, 47)
    new_sig = member.copy()
    new_sig[:110] = sharing(original, 0, 48)[:110]
    rep, new = cand(1, original, cluster=1), cand(100, new_sig)
    assert decide(new, [(rep, Evidence(passages=1))], {1: rep}).cluster_id is None


@pytest.mark.parametrize(
    ("sim", "linked"),
    [
        (Similarity(0.0, 0.0, 1, 0), True),
        (Similarity(0.3, 0.45, 0, 0), False),  # a share of the text: template stories
        (Similarity(0.0, 0.0, 0, 12), False),  # anchors alone neither
    ],
)
def test_is_linked_needs_a_long_paragraph_of_the_original(sim: Similarity, linked: bool) -> None:
    assert is_linked(sim) is linked


def test_verifying_against_the_original_ranks_above_drifting_through_a_member() -> None:
    original = signature(49)
    member = sharing(original, 150, 50)
    drift_sig = member.copy()
    drift_sig[:110] = sharing(original, 0, 51)[:110]
    rep1, m1 = cand(1, original, cluster=1), cand(2, member, cluster=1)
    new = cand(100, drift_sig)
    # Cluster 5's original matches ``new`` exactly as well as member 2 does.
    rep5 = cand(5, np.where(np.arange(BINS) < 110, signature(52), member), cluster=5)
    assert estimate(new, rep5).jaccard == pytest.approx(estimate(new, m1).jaccard, abs=0.01)
    candidates = [(rep1, Evidence(passages=1)), (m1, Evidence()), (rep5, Evidence())]
    assignment = decide(new, candidates, {1: rep1, 5: rep5})
    assert assignment.cluster_id == 5


def test_a_member_match_leads_to_its_cluster_when_the_representative_verifies() -> None:
    original = signature(43)
    rep = cand(1, original, cluster=1)
    member = cand(2, sharing(original, 200, 44), cluster=1)
    new = cand(100, sharing(original, 210, 45))
    assignment = decide(new, [(member, Evidence())], {1: rep})
    assert assignment.cluster_id == 1
    assert assignment.matched_article_id == 1  # verified against the representative


def test_evidence_counts_only_for_the_candidate_it_was_found_with() -> None:
    # The index found two passages shared with a member; they say nothing about the
    # representative, which must verify on its own.
    rep = cand(1, signature(46), cluster=1)
    member = cand(2, signature(47), cluster=1)
    new = cand(100, signature(48))
    assert decide(new, [(member, Evidence(passages=2))], {1: rep}).cluster_id is None
    assignment = decide(new, [(rep, Evidence(passages=2))], {1: rep})
    assert assignment.cluster_id == 1


def test_clusters_whose_representatives_verify_against_each_other_merge() -> None:
    base = signature(60)
    r1 = cand(1, sharing(base, 220, 61), cluster=1)
    r2 = cand(2, sharing(base, 200, 62), cluster=2)  # shares 200 values with r1
    # Cluster 3 is credited by ``new`` and shares a quote with it, nothing with r1 or r2.
    r3 = cand(3, sharing(base, 2, 63), cluster=3, outlet="Politico")
    new = cand(100, base)
    credit = [Credit("POLITICO", REPORTING, "Politico")]
    candidates = [(r3, Evidence(anchors=2)), (r2, Evidence()), (r1, Evidence())]
    assignment = decide(new, candidates, {1: r1, 2: r2, 3: r3}, credits=credit)
    assert assignment.cluster_id == 1
    assert assignment.merge == (2,)


def test_a_cluster_without_a_known_representative_is_skipped() -> None:
    base = signature(55)
    member = cand(2, base, cluster=9)
    assert decide(cand(100, base), [(member, Evidence())], {}).cluster_id is None


def test_merge_needs_the_joined_clusters_originals_to_be_linked() -> None:
    base = signature(64)
    r1 = cand(1, sharing(base, 220, 65), cluster=1)
    r3 = cand(3, sharing(base, 2, 66), cluster=3, outlet="Politico")
    new = cand(100, base)
    credit = [Credit("POLITICO", REPORTING, "Politico")]
    candidates = [(r3, Evidence(anchors=2)), (r1, Evidence())]
    assignment = decide(new, candidates, {1: r1, 3: r3}, credits=credit)
    assert assignment.cluster_id == 1  # r3 verified too, through the credit
    assert assignment.merge == ()  # but r1 and r3 share nothing


def rewrite_pair() -> tuple[Candidate, Candidate, Evidence]:
    """An original and a rewrite sharing two anchors (a quote) and little else."""
    original = cand(1, signature(60), 500, cluster=1, anchors=30, outlet="Politico")
    rewrite = cand(100, sharing(signature(60), 3, 61), 450, anchors=28, outlet="AzerNEWS")
    return original, rewrite, Evidence(anchors=CREDITED_MIN_ANCHORS)


def test_decide_joins_a_rewrite_that_credits_the_representatives_outlet() -> None:
    original, rewrite, evidence = rewrite_pair()
    credit = Credit("POLITICO", REPORTING, "Politico")
    assignment = decide(rewrite, [(original, evidence)], {1: original}, credits=[credit])
    assert assignment.cluster_id == 1


@pytest.mark.parametrize(
    "credits",
    [
        (),
        (Credit("CBS News", REPORTING, "CBS News"),),
        (Credit("politico.com", CANONICAL, "Politico"),),
    ],
    ids=["no credit", "another outlet", "canonical link"],
)
def test_decide_keeps_the_same_rewrite_apart_without_a_credit_to_that_outlet(
    credits: tuple[Credit, ...],
) -> None:
    original, rewrite, evidence = rewrite_pair()
    assert (
        decide(rewrite, [(original, evidence)], {1: original}, credits=credits).cluster_id is None
    )


def test_a_representative_of_unknown_outlet_cannot_be_credited() -> None:
    original, rewrite, evidence = rewrite_pair()
    anonymous = dataclasses.replace(original, outlet="")
    credit = Credit("POLITICO", REPORTING, "Politico")
    assert (
        decide(rewrite, [(anonymous, evidence)], {1: anonymous}, credits=[credit]).cluster_id
        is None
    )
