"""The JSON contract of PRODUCT.md §2, as serialize.py defines it for the CLI, export and API."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from aggregator.outputs import schema
from aggregator.outputs.serialize import article_to_dict, cluster_to_dict, feed_status_to_dict
from aggregator.types import ErrorKind, FeedState, FeedStatusView, Relation
from tests.viewfactory import politico_cluster, singleton_cluster, without_members

CLUSTER_KEYS = {
    "id",
    "title",
    "size",
    "outlets",
    "first_reporter",
    "credited_source",
    "first_seen_at",
    "last_seen_at",
    "confidence",
}
EXPORT_KEYS = {
    "id",
    "outlet",
    "feed_url",
    "guid",
    "url",
    "canonical_url",
    "title",
    "published_at",
    "first_seen_at",
    "cluster_id",
    "relation",
    "similarity",
    "credits",
}
FEED_KEYS = {
    "outlet",
    "feed_url",
    "state",
    "last_fetched_at",
    "last_status",
    "error_kind",
    "error_message",
    "error_count",
    "next_fetch_at",
    "articles",
}


def failing_feed() -> FeedStatusView:
    return FeedStatusView(
        outlet="Politico",
        feed_url="https://rss.politico.example/politics.xml",
        state=FeedState.FAILING,
        last_fetched_at=datetime(2024, 5, 1, 12, 0, 5, 123456, tzinfo=UTC),
        last_status=503,
        error_kind=ErrorKind.HTTP_5XX,
        error_message="503 Service Unavailable",
        error_count=3,
        next_fetch_at=None,
        articles=42,
    )


def test_cluster_listing_has_the_contract_fields_and_no_members() -> None:
    out = cluster_to_dict(without_members(politico_cluster()))
    assert set(out) == CLUSTER_KEYS
    assert out["id"] == 17
    assert out["size"] == 3
    assert out["outlets"] == ["Politico", "MSN", "AzerNEWS"]
    assert out["credited_source"] is None
    assert out["first_seen_at"] == "2024-05-01T12:00:00Z"
    assert out["last_seen_at"] == "2024-05-01T13:38:00Z"


def test_first_reporter_names_outlet_article_url_time_and_basis() -> None:
    out = cluster_to_dict(politico_cluster())
    assert out["first_reporter"] == {
        "outlet": "Politico",
        "article_id": 101,
        "url": "https://politico.example/a/101",
        "at": "2024-05-01T12:00:00Z",
        "basis": "published",
    }


def test_cluster_with_members_lists_each_member_as_its_export_record() -> None:
    cluster = politico_cluster()
    out = cluster_to_dict(cluster)
    assert set(out) == CLUSTER_KEYS | {"members"}
    assert out["members"] == [article_to_dict(m) for m in cluster.members]


def test_singleton_keeps_its_credited_source_and_basis() -> None:
    out = cluster_to_dict(singleton_cluster())
    assert out["credited_source"] == "Yonhap"
    first = out["first_reporter"]
    assert isinstance(first, dict)
    assert first["basis"] == "observed"


def test_article_has_every_export_field_with_plain_json_values() -> None:
    rewrite = politico_cluster().members[2]
    out = article_to_dict(rewrite)
    assert set(out) >= EXPORT_KEYS
    assert {"author", "credits_outlet", "at"} <= set(out)
    assert out["relation"] == "rewrite"
    assert out["credits"] == ["Politico", "CBS News"]
    assert out["credits_outlet"] == "Politico"
    assert out["similarity"] == 0.41
    assert out["published_at"] == "2024-05-01T13:35:00Z"
    assert out["first_seen_at"] == "2024-05-01T13:38:00Z"
    assert json.loads(json.dumps(out)) == out


def test_article_without_cluster_or_times_serializes_nulls() -> None:
    lone = replace(
        politico_cluster().members[0],
        cluster_id=None,
        relation=None,
        similarity=None,
        published_at=None,
        at=None,
    )
    out = article_to_dict(lone)
    assert out["cluster_id"] is None
    assert out["relation"] is None
    assert out["similarity"] is None
    assert out["published_at"] is None
    assert out["at"] is None


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=UTC), "2024-05-01T12:00:00Z"),
        (datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T12:00:00Z"),
        # SQLite hands back naive datetimes; they are UTC by the store's convention.
        (datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00Z"),
    ],
)
def test_timestamps_are_utc_with_z_suffix(moment: datetime, expected: str) -> None:
    article = replace(politico_cluster().members[0], first_seen_at=moment)
    assert article_to_dict(article)["first_seen_at"] == expected


def test_every_relation_serializes_as_its_string_value() -> None:
    base = politico_cluster().members[0]
    for relation in Relation:
        assert article_to_dict(replace(base, relation=relation))["relation"] == relation.value


def test_feed_status_has_the_contract_fields() -> None:
    out = feed_status_to_dict(failing_feed())
    assert set(out) == FEED_KEYS
    assert out["state"] == "failing"
    assert out["error_kind"] == "http_5xx"
    assert out["last_status"] == 503
    assert out["last_fetched_at"] == "2024-05-01T12:00:05Z"
    assert out["next_fetch_at"] is None


def test_healthy_feed_status_has_null_error_kind() -> None:
    healthy = replace(failing_feed(), state=FeedState.OK, error_kind=None, error_count=0)
    out = feed_status_to_dict(healthy)
    assert out["state"] == "ok"
    assert out["error_kind"] is None


def test_openapi_models_describe_exactly_what_the_serializers_emit() -> None:
    # extra="forbid" on the models: a field added to one side only fails here.
    for cluster in (politico_cluster(), without_members(singleton_cluster())):
        schema.ClusterOut.model_validate(cluster_to_dict(cluster))
    schema.ArticleOut.model_validate(article_to_dict(politico_cluster().members[1]))
    schema.FeedStatusOut.model_validate(feed_status_to_dict(failing_feed()))
