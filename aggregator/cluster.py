"""The verifier: do two articles tell the same report? And which cluster does a new one join?

The index (index.py) proposes; this module decides, purely. No chaining: a new article
joins a cluster only when it verifies against that cluster's representative (its
original), never merely against some member, so a run of small edits cannot walk one
story into another. Clusters whose representatives verify against each other merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aggregator.fingerprint import SignatureArray, signature_array
from aggregator.settings import DedupSettings
from aggregator.types import Assignment, Credit, CreditKind, Fingerprint, Similarity

#: A 16-bit signature value matches by chance with this probability (fingerprint.py).
_CHANCE_MATCH = 2.0**-16


@dataclass(frozen=True, slots=True)
class Threshold:
    """Verification thresholds for pairs whose shorter text has at least ``min_shingles``."""

    min_shingles: int
    jaccard: float
    containment: float


#: The verifier's table, longest texts first. Short texts share shingles by chance
#: (datelines, names, stock phrases), so they must agree more to count as one story;
#: long texts can be trimmed to a quarter and still share hundreds of shingles. A rewrite
#: that reuses a long original's quotes and passages sits at containment 0.5-0.85;
#: independent same-topic stories stay below 0.15 (ECB+: no different-event pair reaches
#: 0.13 word-3 Jaccard).
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(min_shingles=150, jaccard=0.40, containment=0.50),
    Threshold(min_shingles=60, jaccard=0.50, containment=0.65),
    Threshold(min_shingles=0, jaccard=0.60, containment=0.80),
)
#: The most lenient row: a pair below both can only pass through passages or a credit.
LOWEST_JACCARD = min(row.jaccard for row in THRESHOLDS)
LOWEST_CONTAINMENT = min(row.containment for row in THRESHOLDS)
#: Long paragraphs found verbatim in both texts that prove reuse on their own.
PASSAGES_PROVING_REUSE = 2
#: With a reporting credit to the candidate's outlet ("via X", "X reported"), this much
#: shared text suffices: a rewrite often shares little more than the quotes it credits.
CREDITED_MIN_ANCHORS = 2
CREDITED_MIN_CONTAINMENT = 0.12
#: Joining through a member (a later version; see is_linked) ranks below verifying
#: against the original itself.
DRIFT_PENALTY = 0.05


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the verifier knows about an article: its text's sketch and where it stands."""

    article_id: int
    cluster_id: int
    signature: SignatureArray
    shingles: int
    anchors: int = 0  # how many anchor keys the text has
    outlet: str = ""

    @classmethod
    def of(
        cls, article_id: int, fp: Fingerprint, *, cluster_id: int = 0, outlet: str = ""
    ) -> Candidate:
        return cls(
            article_id,
            cluster_id,
            signature_array(fp.signature),
            fp.shingles,
            len(fp.anchors) // 4,
            outlet,
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the index found shared between a new article and one candidate."""

    anchors: int = 0
    passages: int = 0


def estimate(a: Candidate, b: Candidate, evidence: Evidence = Evidence()) -> Similarity:
    """Jaccard from the signatures; containment of the shorter text in the longer from it.

    With set sizes |A| and |B| and Jaccard J, the intersection is J·(|A|+|B|)/(1+J), and
    its share of the smaller set is the containment a trimmed copy keeps high. Shared
    anchors and passages counted by the index are reported alongside; the anchors are NOT
    used as a containment estimate: a short text has so few of them (8 anchors for 130
    words) that template stories sharing their wording reached 0.75 that way (evaluation:
    45 of 120 template stories merged; none with the signature's estimate alone).
    """
    matches = float(np.count_nonzero(a.signature == b.signature)) / a.signature.size
    jaccard = max(0.0, (matches - _CHANCE_MATCH) / (1.0 - _CHANCE_MATCH))
    smaller = min(a.shingles, b.shingles)
    if smaller == 0:
        return Similarity(0.0, 0.0, 0, 0)
    containment = min(1.0, jaccard * (a.shingles + b.shingles) / (1.0 + jaccard) / smaller)
    return Similarity(jaccard, containment, evidence.passages, evidence.anchors)


def estimate_many(
    new: Candidate, signatures: npt.NDArray[np.uint16], shingles: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``estimate``'s Jaccard and containment of ``new`` against many signatures at once."""
    equal = signatures == new.signature
    matches = equal.view(np.uint8).sum(axis=1, dtype=np.int64) / new.signature.size
    jaccard = np.maximum(0.0, (matches - _CHANCE_MATCH) / (1.0 - _CHANCE_MATCH))
    smaller = np.minimum(shingles, new.shingles)
    with np.errstate(divide="ignore", invalid="ignore"):
        containment = jaccard * (shingles + new.shingles) / (1.0 + jaccard) / smaller
    containment = np.where(smaller > 0, np.minimum(containment, 1.0), 0.0)
    return jaccard, containment


def estimate_pairs(
    signatures: npt.NDArray[np.uint16],
    shingles: npt.NDArray[np.float64],
    others: npt.NDArray[np.uint16],
    other_shingles: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``estimate``'s Jaccard and containment for many pairs (row k with row k) at once."""
    if signatures.shape[0] == 0:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty
    equal = signatures == others
    matches = equal.view(np.uint8).sum(axis=1, dtype=np.int64) / signatures.shape[1]
    jaccard = np.maximum(0.0, (matches - _CHANCE_MATCH) / (1.0 - _CHANCE_MATCH))
    smaller = np.minimum(shingles, other_shingles)
    with np.errstate(divide="ignore", invalid="ignore"):
        containment = jaccard * (shingles + other_shingles) / (1.0 + jaccard) / smaller
    containment = np.where(smaller > 0, np.minimum(containment, 1.0), 0.0)
    return jaccard, containment


def threshold_for(shorter_shingles: int) -> Threshold:
    """The row of THRESHOLDS that applies to a pair whose shorter text has this many shingles."""
    for row in THRESHOLDS:
        if shorter_shingles >= row.min_shingles:
            return row
    return THRESHOLDS[-1]


def is_same_story(sim: Similarity, shorter_shingles: int, *, credited: bool = False) -> bool:
    """The verifier: do two texts tell the same report (copied, trimmed or rewritten)?

    ``credited``: one of the two credits the other's outlet for its reporting.
    """
    return verdict(sim, shorter_shingles, credited=credited)[0]


def verdict(sim: Similarity, shorter_shingles: int, *, credited: bool = False) -> tuple[bool, str]:
    """The verifier's decision with the rule that made it, in words."""
    if sim.shared_passages >= PASSAGES_PROVING_REUSE:
        return True, f"{sim.shared_passages} long paragraphs appear verbatim in both"
    row = threshold_for(shorter_shingles)
    if sim.jaccard >= row.jaccard:
        return True, f"Jaccard {sim.jaccard:.2f} ≥ {row.jaccard:.2f}"
    if sim.containment >= row.containment:
        return True, f"containment {sim.containment:.2f} ≥ {row.containment:.2f}"
    below = (
        f"Jaccard {sim.jaccard:.2f} < {row.jaccard:.2f} and containment "
        f"{sim.containment:.2f} < {row.containment:.2f} (shorter text: {shorter_shingles} shingles)"
    )
    if credited:
        if sim.shared_anchors >= CREDITED_MIN_ANCHORS:
            return True, f"a reporting credit and {sim.shared_anchors} shared anchors"
        if sim.shared_passages >= 1:
            return True, "a reporting credit and a long paragraph in both"
        if sim.containment >= CREDITED_MIN_CONTAINMENT:
            return True, f"a reporting credit and containment {sim.containment:.2f}"
        return False, f"{below}; a reporting credit, but too little shared text"
    return False, below


def score(sim: Similarity) -> float:
    """Order for choosing among clusters that all verify: strongest reuse first."""
    return max(sim.jaccard, sim.containment) + 0.01 * sim.shared_passages


def credits_outlet(credits: Sequence[Credit], outlet: str) -> bool:
    """Does an article with these credits credit ``outlet`` for its reporting?"""
    return any(c.outlet == outlet and c.kind is not CreditKind.CANONICAL for c in credits)


def is_linked(sim: Similarity) -> bool:
    """Still tied to the original: at least one long paragraph of it, word for word.

    Looser ties (a quarter of the text, a few anchors) let template stories — market
    closes, results, weather — join each other through their copies (evaluation: 41 of
    120 templates merged at containment ≥ 0.25, 8 at ≥ 0.4, none with a shared paragraph).
    """
    return sim.shared_passages >= 1


def decide(
    new: Candidate,
    candidates: Sequence[tuple[Candidate, Evidence]],
    representatives: Mapping[int, Candidate],
    *,
    credits: Sequence[Credit] = (),
) -> Assignment:
    """Choose the cluster for ``new`` among the clusters of the proposed candidates.

    ``new`` joins a cluster when it verifies against the cluster's original (its
    representative), or when it verifies against another member AND is still linked to the
    original (versions drift: a wire story's third write-thru may share only a third of the
    first version's text). Chaining stays bounded: every member shares a paragraph with the
    original. Clusters whose originals verify against each other merge.
    """
    evidence = {c.article_id: e for c, e in candidates}
    members: dict[int, list[Candidate]] = {}
    for c, _ in candidates:
        members.setdefault(c.cluster_id, []).append(c)
    verified: list[tuple[float, Candidate, Similarity]] = []
    for cluster_id in sorted(members):
        rep = representatives.get(cluster_id)
        if rep is None:
            continue
        found = _verify_cluster(new, rep, members[cluster_id], evidence, credits)
        if found is not None:
            verified.append(found)
    if not verified:
        return Assignment(cluster_id=None)
    verified.sort(key=lambda item: (-item[0], item[1].cluster_id))
    _, best, best_sim = verified[0]
    merge = tuple(
        rep.cluster_id
        for _, rep, _ in verified[1:]
        if is_linked(estimate(best, rep))
        or is_same_story(estimate(best, rep), min(best.shingles, rep.shingles))
    )
    return Assignment(best.cluster_id, best.article_id, best_sim, merge)


def _verify_cluster(
    new: Candidate,
    rep: Candidate,
    proposed: Sequence[Candidate],
    evidence: Mapping[int, Evidence],
    credits: Sequence[Credit],
) -> tuple[float, Candidate, Similarity] | None:
    """(score, representative, similarity to it) when ``new`` belongs to rep's cluster."""
    sim = estimate(new, rep, evidence.get(rep.article_id, Evidence()))
    credited = bool(rep.outlet) and credits_outlet(credits, rep.outlet)
    if is_same_story(sim, min(new.shingles, rep.shingles), credited=credited):
        return score(sim), rep, sim
    if not is_linked(sim):
        return None
    for member in proposed:
        if member.article_id == rep.article_id:
            continue
        member_sim = estimate(new, member, evidence.get(member.article_id, Evidence()))
        if is_same_story(member_sim, min(new.shingles, member.shingles)):
            return score(member_sim) - DRIFT_PENALTY, rep, sim
    return None


def is_clusterable(fp: Fingerprint, settings: DedupSettings) -> bool:
    """Empty, teaser and boilerplate-only texts never cluster."""
    return fp.tokens >= settings.min_tokens and fp.shingles > 0
