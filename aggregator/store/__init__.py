"""The store: SQLAlchemy models, alembic migrations and the Store class."""

from aggregator.store.batch import Batch, FeedOutcome
from aggregator.store.store import DueFeed, Store

__all__ = ["Batch", "DueFeed", "FeedOutcome", "Store"]
