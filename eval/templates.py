"""TEMPLATE stories: market closes, company results and weather reports that share their
wording but not their facts (other numbers, companies, cities, days).

Wires file such reports every day from one template, so two days' reports share most
function words and stock phrases; they are different stories and must never merge. All
companies, people, indexes and places here are invented.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from eval.textgen import WEEKDAYS

Story = tuple[str, list[str]]  # (title, paragraphs)

COMPANIES = (
    "Norrell Industries", "Brightwater Foods", "Kestrel Mining", "Holloway Retail",
    "Ashgrove Pharmaceuticals", "Tidewell Energy", "Marlow Telecom", "Castleford Motors",
    "Quenby Airlines", "Greystone Bank", "Fairhaven Insurance", "Orrin Semiconductors",
    "Pellham Brewing", "Vantor Logistics", "Sablewood Homes", "Crestmoor Media",
    "Dunmore Steel", "Elbury Chemicals", "Wrenfield Software", "Harcourt Shipping",
)  # fmt: skip
CITIES = (
    "Port Avalon", "Elmsworth", "Carrick Bay", "Northam", "Redhaven", "Stonebridge",
    "Millbrook", "Westmere", "Ashford Vale", "Kingsreach", "Larkhill", "Fernside",
)  # fmt: skip
PEOPLE = (
    "Miriam Okafor", "Jonas Feld", "Priya Raman", "Colm Brennan", "Aiko Tanaka",
    "Hector Salas", "Greta Lindqvist", "Samuel Adeyemi", "Nora Kowalski", "Felix Mourad",
)  # fmt: skip
_INDEXES = ("Avalon Composite", "Northam 100", "Carrick All-Share", "Westmere 40")
_SECTORS = ("retail", "energy", "mining", "telecoms", "banking", "food", "software")


def _pct(rng: random.Random, top: float = 4.0) -> str:
    return f"{rng.uniform(0.1, top):.1f}"


def market_close(rng: random.Random, day: int) -> Story:
    """A daily market report on one template."""
    up = rng.random() < 0.5
    move, moved = ("rose", "gained") if up else ("fell", "lost")
    index, second = rng.sample(_INDEXES, 2)
    leader, laggard, third = rng.sample(COMPANIES, 3)
    reason = rng.choice(
        (
            "investors weighed fresh signals on interest rates",
            "a run of company results set the tone",
            "traders reacted to new figures on consumer spending",
            "commodity prices swung sharply",
        )
    )
    title = f"Stocks {move} as {reason}"
    paragraphs = [
        f"Stocks {move} on {WEEKDAYS[day % 5]} as {reason}. The {index} index {move} "
        f"{_pct(rng, 2)} percent to {rng.randint(5000, 9000):,}.{rng.randint(10, 99)}, "
        f"while the {second} {moved} {_pct(rng, 2)} percent.",
        f"{leader} led the market after it {rng.choice(('raised its outlook', 'won a large contract', 'announced a buyback'))}, "  # noqa: E501
        f"climbing {_pct(rng, 9)} percent. {laggard} dropped {_pct(rng, 9)} percent after "
        f"{rng.choice(('a profit warning', 'a downgrade from analysts', 'losing a court case'))}.",
        f"Declining issues outnumbered advancing ones by about {rng.randint(2, 4)} to 1, and "
        f"{_pct(rng, 3)} billion shares changed hands, "
        f"{rng.choice(('above', 'below', 'close to'))} the average of the past month.",
        f"In the bond market, the yield on the 10-year government note "
        f"{rng.choice(('rose', 'fell', 'held'))} at {rng.uniform(3, 5):.2f} percent. "
        f"The currency {rng.choice(('gained', 'slipped', 'was little changed'))} against "
        f"the dollar, and gold {rng.choice(('rose', 'fell'))} to ${rng.randint(1800, 2600)} "
        f"an ounce.",
        f"Shares of {third} {rng.choice(('rose', 'fell'))} {_pct(rng, 6)} percent ahead of "
        f"its results, due on {rng.choice(WEEKDAYS[:5])}. Oil settled at "
        f"${rng.uniform(60, 95):.2f} a barrel.",
    ]
    return title, paragraphs


def company_results(rng: random.Random, day: int) -> Story:
    """A quarterly results report on one template."""
    company = rng.choice(COMPANIES)
    boss = rng.choice(PEOPLE)
    up = rng.random() < 0.6
    verb = "rose" if up else "fell"
    quarter = rng.choice(("first-quarter", "second-quarter", "third-quarter", "fourth-quarter"))
    profit = rng.randint(40, 900)
    title = f"{company} {quarter} profit {verb} {_pct(rng, 30)}%"
    paragraphs = [
        f"{company}, the {rng.choice(_SECTORS)} group, said on {WEEKDAYS[day % 5]} that its "
        f"{quarter} profit {verb} {_pct(rng, 30)} percent to ${profit} million, as "
        f"{rng.choice(('demand held up', 'costs eased', 'prices climbed', 'sales slowed'))}.",
        f"Revenue {rng.choice(('rose', 'fell', 'edged up'))} to "
        f"${rng.uniform(1, 20):.1f} billion from ${rng.uniform(1, 20):.1f} billion a year "
        f"earlier. Analysts had on average expected a profit of ${profit + rng.randint(-60, 60)} "
        f"million.",
        f'"{rng.choice(("We delivered a solid quarter", "This was a difficult quarter", "Our teams executed well"))} '  # noqa: E501
        f'and we remain confident about the rest of the year," chief executive {boss} said '
        f"in a statement.",
        f"The company {rng.choice(('raised', 'kept', 'cut'))} its forecast for the full year and "
        f"said it would pay a dividend of {rng.randint(5, 80)} cents a share. Its shares "
        f"{rng.choice(('rose', 'fell'))} {_pct(rng, 8)} percent in early trading.",
    ]
    return title, paragraphs


def weather_report(rng: random.Random, day: int) -> Story:
    """A weather warning on one template."""
    city = rng.choice(CITIES)
    condition = rng.choice(("heavy rain", "strong winds", "snow and ice", "a heatwave", "fog"))
    colour = rng.choice(("yellow", "amber", "red"))
    title = f"{colour.capitalize()} warning for {city} as {condition} sweeps in"
    paragraphs = [
        f"Forecasters issued a {colour} warning for {city} and the surrounding district on "
        f"{WEEKDAYS[day % 7]}, with {condition} expected to last until "
        f"{rng.choice(WEEKDAYS)}.",
        f"Temperatures were forecast to reach {rng.randint(-8, 38)} degrees, and gusts of up "
        f"to {rng.randint(40, 130)} kilometres an hour were possible on higher ground. "
        f"Rainfall totals of {rng.randint(5, 120)} millimetres were expected in places.",
        f"Residents were advised to {rng.choice(('avoid unnecessary travel', 'check on elderly neighbours', 'secure loose objects'))}, "  # noqa: E501
        f"and {rng.randint(2, 60)} schools said they would open late. Rail operators warned "
        f"of delays on {rng.randint(2, 9)} lines.",
        f"The weather service said conditions should ease by {rng.choice(WEEKDAYS)}, when "
        f"{rng.choice(('drier air', 'milder weather', 'calmer winds'))} is expected to "
        f"return.",
    ]
    return title, paragraphs


TEMPLATES: dict[str, Callable[[random.Random, int], Story]] = {
    "market_close": market_close,
    "company_results": company_results,
    "weather": weather_report,
}
