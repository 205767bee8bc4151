"""The generator's fictional outlets: names, aliases, domains and their page furniture.

Every name here is invented; domains use the reserved ``.example`` TLD. Wires have short
aliases ("TPA") because that is how copies credit them ("LONDON (TPA) —").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from aggregator.credits import AliasTable
from aggregator.types import OutletConfig


@dataclass(frozen=True, slots=True)
class OutletSpec:
    """One fictional outlet and its house furniture."""

    name: str
    domain: str
    aliases: tuple[str, ...]
    wire: bool
    #: Lines at the top of every page of this outlet when it carries heavy furniture.
    header: tuple[str, ...]
    #: Lines at the bottom, same condition.
    footer: tuple[str, ...]
    #: One short line on every item it publishes ("Share this story").
    light: str

    @property
    def short(self) -> str:
        """The name copies use in datelines: the first alias, else the name."""
        return self.aliases[0] if self.aliases else self.name


# (name, aliases, is a wire)
_OUTLETS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("Transworld Press Agency", ("TPA", "Transworld Press"), True),
    ("Continental Newswire", ("CNW", "Continental News"), True),
    ("Atlas News Agency", ("ANA", "Atlas News"), True),
    ("Harborview Gazette", ("The Harborview Gazette",), False),
    ("Eastfield Post", ("The Eastfield Post",), False),
    ("Riverside Chronicle", ("The Riverside Chronicle",), False),
    ("Summit Daily News", ("Summit Daily",), False),
    ("Coastline Herald", ("The Coastline Herald",), False),
    ("Midland Observer", ("The Midland Observer",), False),
    ("Granite City Times", ("GC Times",), False),
    ("Pinecrest Journal", ("The Pinecrest Journal",), False),
    ("Lakeshore Examiner", ("The Lakeshore Examiner",), False),
    ("Valley Courier", ("The Valley Courier",), False),
    ("Bayside Tribune", ("The Bayside Tribune",), False),
    ("Metro Ledger Online", ("Metro Ledger",), False),
    ("Northgate Review", ("The Northgate Review",), False),
    ("Westbrook Standard", ("The Westbrook Standard",), False),
    ("Capitol Beacon", ("The Capitol Beacon",), False),
    ("Island Telegraph", ("The Island Telegraph",), False),
    ("Prairie Voice Radio", ("PVR News",), False),
)

_SECTIONS = ("World", "Business", "Politics", "Sport", "Culture", "Technology", "Nation")
_HEADER_LINES = (
    "Home | {section} | {name}",
    "Listen to this article",
    "Share this article: Facebook | X | Email | Copy link",
    "{name} {section} desk",
    "Subscribe for unlimited access to {name} journalism from just $1 a week.",
    "You have 3 free articles remaining this month.",
)
_FOOTER_LINES = (
    "Sign up for our newsletter: the day's top stories from {name}, in your inbox every morning.",
    "© {year} {name}. All rights reserved. No part of this story may be copied or republished "
    "without permission.",
    "Follow {name} on Facebook, X and Instagram for the latest updates.",
    "Have a news tip? Write to the {name} newsroom at tips@{domain}.",
    "Comments are closed for this article.",
    "Report an error | Editorial standards | Contact us | Privacy policy",
    "Advertisement",
)
_LIGHT_LINES = (
    "Share this story",
    "Filed under: {section}",
    "Print this page",
    "Reading time: {minutes} min",
    "Save for later",
)
_PHOTOGRAPHERS = ("Dana Whitcombe", "Ravi Okonjo", "Lena Marsh", "Tomas Quill", "Ines Varga")
_PHOTO_AGENCIES = ("Getty Images", "Pool / Getty Images", "Transworld Press", "Atlas News")
_RELATED_PREFIXES = ("Related:", "Read more:", "MORE FROM {upper}:", "See also:")


def outlet_pool(seed: int) -> tuple[OutletSpec, ...]:
    """The ~20 outlets, each with furniture chosen deterministically from ``seed``."""
    rng = random.Random(seed)
    pool: list[OutletSpec] = []
    for name, aliases, wire in _OUTLETS:
        domain = name.lower().replace(" ", "") + ".example"
        fill = {"name": name, "domain": domain, "section": rng.choice(_SECTIONS), "year": 2025}
        header = tuple(line.format(**fill) for line in rng.sample(_HEADER_LINES, 3))
        footer = tuple(line.format(**fill) for line in rng.sample(_FOOTER_LINES, 4))
        light = rng.choice(_LIGHT_LINES).format(minutes=rng.randint(2, 7), **fill)
        pool.append(OutletSpec(name, domain, aliases, wire, header, footer, light))
    return tuple(pool)


def alias_table(outlets: tuple[OutletSpec, ...]) -> AliasTable:
    """The alias table the product would build from an outlets file listing these."""
    configs = [
        OutletConfig(name=o.name, homepage=f"https://www.{o.domain}", aliases=o.aliases, feeds=())
        for o in outlets
    ]
    return AliasTable.from_outlets(configs)


def article_url(outlet: OutletSpec, when: datetime, title: str, serial: int) -> str:
    """A plausible permalink: https://www.<domain>/yyyy/mm/dd/<slug>-<serial>."""
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()[:8]
    slug = "-".join(words) or "story"
    return f"https://www.{outlet.domain}/{when:%Y/%m/%d}/{slug}-{serial}"


def photo_caption(rng: random.Random, subject: str) -> str:
    """A caption line as scraped pages carry it: "… (Photo: Name / Getty Images)"."""
    who = rng.choice(_PHOTOGRAPHERS)
    agency = rng.choice(_PHOTO_AGENCIES)
    scene = rng.choice(
        (
            f"{subject} pictured earlier this year.",
            f"A file image of {subject}.",
            f"{subject} in a photograph released on Monday.",
        )
    )
    return f"{scene} (Photo: {who} / {agency})"


def related_line(rng: random.Random, outlet: OutletSpec, headlines: list[str]) -> str:
    """A related-links line naming other stories' headlines."""
    prefix = rng.choice(_RELATED_PREFIXES).format(upper=outlet.name.upper())
    if len(headlines) > 1 and rng.random() < 0.4:
        numbered = " ".join(f"{i}. {h}" for i, h in enumerate(headlines[:4], start=1))
        return f"Most read: {numbered}"
    return f"{prefix} {headlines[0]}" if headlines else prefix
