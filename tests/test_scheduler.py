"""The daemon's tick under a wall clock that jumps (DESIGN.md §4, PRODUCT.md "run").

The real scheduler the daemon builds (``daemon.tick_scheduler``: APScheduler 3.x, coalesce,
a grace time of one tick, and the backward-jump guard of ``TickScheduler``) runs on a real
asyncio loop; only the wall clock is fake. APScheduler reads it through ``datetime.now`` in
its scheduler and executor modules, which is what the ``wall`` fixture replaces; the test
moves it and wakes the scheduler, as its own timer would after the real time passed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from apscheduler.executors import base as executor_base
from apscheduler.schedulers import base as scheduler_base

from aggregator import daemon

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(minutes=1)
#: Real seconds the loop gets to run what a wake-up submitted.
SETTLE = 0.05


class Wall:
    """The wall clock: a time the test sets."""

    now = START


class FakeDatetime(datetime):
    """``datetime`` whose ``now()`` is the wall clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return Wall.now.astimezone(tz) if tz else Wall.now.replace(tzinfo=None)


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Wall]]:
    Wall.now = START
    for module in (scheduler_base, executor_base, daemon):
        monkeypatch.setattr(module, "datetime", FakeDatetime)
    yield Wall


class Ticks:
    """The scheduled job: records the wall-clock time of each tick."""

    def __init__(self) -> None:
        self.at: list[datetime] = []

    async def tick(self) -> None:  # a coroutine function, as Daemon.tick is
        self.at.append(Wall.now)


async def _settle(scheduler: daemon.TickScheduler) -> None:
    """Let the scheduler look at the clock (as its timer would) and run what is due."""
    scheduler.wakeup()
    await asyncio.sleep(SETTLE)


async def _at(scheduler: daemon.TickScheduler, moment: datetime) -> None:
    Wall.now = moment
    await _settle(scheduler)


def _run(scenario: object) -> None:
    asyncio.run(scenario)  # type: ignore[arg-type]


def test_a_forward_jump_of_hours_makes_one_catch_up_tick(wall: type[Wall]) -> None:
    ticks = Ticks()

    async def scenario() -> None:
        scheduler = daemon.tick_scheduler(ticks.tick, TICK)
        scheduler.start()
        try:
            await _settle(scheduler)
            assert ticks.at == [START]  # the first tick at once
            await _at(scheduler, START + TICK)
            assert len(ticks.at) == 2
            jumped = START + TICK + timedelta(hours=5, seconds=30)
            await _at(scheduler, jumped)  # 300 intervals were "missed"
            assert ticks.at[2:] == [jumped]
            await _settle(scheduler)
            await _at(scheduler, jumped + timedelta(seconds=20))
            assert len(ticks.at) == 3  # no second catch-up, not early either
            await _at(scheduler, jumped + TICK)
            assert len(ticks.at) == 4  # the cadence goes on from the jump
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(SETTLE)

    _run(scenario())


def test_a_backward_jump_does_not_stop_the_ticks(
    wall: type[Wall], caplog: pytest.LogCaptureFixture
) -> None:
    ticks = Ticks()

    async def scenario() -> None:
        scheduler = daemon.tick_scheduler(ticks.tick, TICK)
        scheduler.start()
        try:
            await _settle(scheduler)
            await _at(scheduler, START + TICK)
            assert len(ticks.at) == 2
            back = START - timedelta(days=400)  # a clock set back by more than a year
            with caplog.at_level(logging.WARNING, logger="aggregator.daemon"):
                await _at(scheduler, back)
            assert ticks.at[2:] == [back]  # one tick when the jump is noticed
            assert "the clock went back" in caplog.text
            for n in range(1, 4):
                await _at(scheduler, back + n * TICK)
            assert ticks.at[3:] == [back + n * TICK for n in range(1, 4)]  # every minute again
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(SETTLE)

    _run(scenario())


def test_a_small_step_back_waits_for_the_tick_it_had_planned(wall: type[Wall]) -> None:
    """An NTP step of a few seconds back is no reason for an extra tick."""
    ticks = Ticks()

    async def scenario() -> None:
        scheduler = daemon.tick_scheduler(ticks.tick, TICK)
        scheduler.start()
        try:
            await _settle(scheduler)
            await _at(scheduler, START + timedelta(seconds=30))
            await _at(scheduler, START + timedelta(seconds=10))  # 20 s back
            assert ticks.at == [START]
            await _at(scheduler, START + TICK)
            assert ticks.at == [START, START + TICK]
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(SETTLE)

    _run(scenario())
