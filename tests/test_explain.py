"""``aggregator why``: the explanation of why two articles are, or are not, one story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.explain import Subject, explain, shared_runs
from aggregator.fingerprint import fingerprint
from aggregator.settings import DedupSettings
from aggregator.types import ArticleView, Credit, CreditKind, Relation

SETTINGS = DedupSettings()
T0 = datetime(2026, 2, 26, 15, 0, tzinfo=UTC)
QUOTE = (
    "We cannot in good conscience hand over a system whose limits we promised our users "
    "we would keep, whatever the penalty for saying no turns out to be"
)
ORIGINAL = "\n\n".join(
    [
        "The startup refused the ministry's demand on Thursday, setting up a confrontation over "
        "how its model may be used by the armed forces and by the intelligence services.",
        f"“{QUOTE},” the chief executive wrote in a post on the company's blog that evening.",
        "The ministry had threatened to label the firm a supply-chain risk, a designation that "
        "is normally reserved for foreign vendors with ties to hostile governments abroad.",
        "Lawyers said the two threats pulled in opposite directions, since one treats the "
        "model as vital to national defence and the other treats the company as a danger.",
    ]
)
REWRITE = "\n\n".join(
    [
        "A technology company has told the defence ministry it will not give way, Daily "
        "Example reports via Capital Ledger, in a dispute that has gripped the capital.",
        f"“{QUOTE},” its chief executive wrote.",
        "Analysts in the region expect the standoff to affect other suppliers as well, and "
        "several governments are watching how the ministry responds before deciding.",
    ]
)


def view(article_id: int, outlet: str, at: datetime, cluster: int | None) -> ArticleView:
    return ArticleView(
        id=article_id, outlet=outlet, feed_url=None, guid=None, url=None, canonical_url=None,
        title=f"Story {article_id}", published_at=at, first_seen_at=at, cluster_id=cluster,
        relation=Relation.ORIGINAL, similarity=None, credits=(), at=at,
    )  # fmt: skip


def subject(article_id: int, outlet: str, text: str, at: datetime, **kw: object) -> Subject:
    credits = kw.get("credits", ())
    cluster = kw.get("cluster", 1)
    assert isinstance(credits, tuple) and (cluster is None or isinstance(cluster, int))
    return Subject(
        view(article_id, outlet, at, cluster), text, fingerprint(text, SETTINGS), credits
    )


def test_a_verbatim_copy_verifies_and_shows_its_shared_paragraphs() -> None:
    a = subject(1, "Capital Ledger", ORIGINAL, T0)
    b = subject(2, "Daily Example", ORIGINAL, T0 + timedelta(hours=2))
    result = explain(a, b, SETTINGS)
    assert result.verifies and result.same_cluster
    assert result.similarity.jaccard > 0.95
    assert result.gap_seconds == 7200
    assert len(result.shared_paragraphs) == 4


def test_a_crediting_rewrite_verifies_only_because_of_its_credit() -> None:
    credit = Credit("Capital Ledger", CreditKind.REPORTING, "Capital Ledger")
    a = subject(1, "Capital Ledger", ORIGINAL, T0)
    credited = subject(2, "Daily Example", REWRITE, T0 + timedelta(hours=6), credits=(credit,))
    uncredited = subject(3, "Daily Example", REWRITE, T0 + timedelta(hours=6))
    with_credit = explain(a, credited, SETTINGS)
    without = explain(a, uncredited, SETTINGS)
    assert with_credit.b_credits_a == credit and with_credit.a_credits_b is None
    assert with_credit.verifies and "credit" in with_credit.reason
    assert not without.verifies
    assert any(QUOTE.lower().replace(",", "")[:40] in run for run in with_credit.shared_runs)


def test_unrelated_articles_do_not_verify_and_say_why() -> None:
    other = "\n\n".join(
        f"Paragraph {n} about the harvest festival, the weather over the valley and the "
        f"prices farmers got for apples and pears at the market this autumn season."
        for n in range(5)
    )
    result = explain(subject(1, "A", ORIGINAL, T0), subject(2, "B", other, T0, cluster=2), SETTINGS)
    assert not result.verifies and not result.same_cluster
    assert "Jaccard" in result.reason and "<" in result.reason
    assert result.shared_paragraphs == () and result.shared_runs == ()


def test_texts_too_short_to_cluster_never_verify() -> None:
    short = "Breaking: the ministry and the startup are in talks."
    result = explain(subject(1, "A", short, T0), subject(2, "B", short, T0), SETTINGS)
    assert not result.verifies
    assert "never clusters" in result.reason


def test_shared_runs_are_the_longest_common_word_sequences() -> None:
    a = "one two three four five six seven eight nine ten eleven twelve and more words"
    b = "intro words then one two three four five six seven eight nine ten eleven end"
    assert shared_runs(a, b) == ("one two three four five six seven eight nine ten eleven",)
    assert shared_runs(a, "nothing in common at all") == ()
