"""OPML import/export and the in-place editing of the outlets file."""

from __future__ import annotations

import difflib
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.config import load_outlets
from aggregator.errors import ConfigError
from aggregator.opml import (
    MAX_DEPTH,
    MAX_OPML_BYTES,
    MAX_OUTLINES,
    OpmlError,
    export_opml,
    parse_opml,
    plan_import,
    read_opml,
)
from aggregator.outletsfile import NewOutlet, OutletsFile, format_duration, toml_string
from aggregator.types import OutletConfig

REPO = Path(__file__).resolve().parent.parent
SHIPPED_OUTLETS = REPO / "config" / "outlets.toml"

COMMENTED = """\
# My outlets. Comments explain choices and must survive every edit.

# --- wires -------------------------------------------------------------
[[outlets]]
name = "Wire Service"   # the big one
homepage = "https://wire.example"
aliases = ["WS", "The Wire"]
feeds = [
    "https://wire.example/top.xml",   # main
    # "https://wire.example/old.xml",  retired in 2023
    "https://wire.example/world.xml"  # no trailing comma here
]
interval = "15m"

[[outlets]]
name = 'Literal Daily'
homepage = 'https://daily.example'
aliases = []
feeds = ['https://daily.example/rss']  # one line

[[outlets]]
name = "Tricky"
# a comment that says [[outlets]] and feeds = [ "nothing" ]
homepage = "https://tricky.example"
aliases = ["Tricky \\"Times\\"", '[[outlets]]']
feeds = ["https://tricky.example/a.xml", "https://tricky.example/b.xml",
  "https://tricky.example/c.xml"]
"""


def opml(body: str, head: str = "<head><title>subs</title></head>", version: str = "2.0") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="{version}">{head}'
        f"<body>{body}</body></opml>\n"
    ).encode()


def outlets_file(tmp_path: Path, text: str = COMMENTED) -> Path:
    path = tmp_path / "outlets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def as_tuples(outlets: tuple[OutletConfig, ...]) -> list[tuple[object, ...]]:
    return [(o.name, o.homepage, o.aliases, o.feeds, o.interval) for o in outlets]


def removed_lines(before: str, after: str) -> list[str]:
    """Lines of ``before`` that ``after`` no longer has (an append-only edit has none)."""
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    return [line for line in diff if line.startswith("- ")]


# --- parsing -------------------------------------------------------------------------------


def test_nested_outlines_are_read_with_their_categories() -> None:
    document = parse_opml(
        opml(
            '<outline text="News">'
            '  <outline text="World">'
            '    <outline type="rss" text="BBC News - World" xmlUrl="https://feeds.bbc.example/world.xml"'
            '             htmlUrl="https://www.bbc.example/news/world"/>'
            "  </outline>"
            '  <outline type="rss" text="ignored" title="BBC News - UK"'
            '           xmlUrl="https://feeds.bbc.example/uk.xml"/>'
            "</outline>"
            '<outline text="no feed here"/>'
        ),
        "subs.opml",
    )
    assert document.version == "2.0"
    assert document.title == "subs"
    assert [(f.xml_url, f.title, f.categories) for f in document.feeds] == [
        ("https://feeds.bbc.example/world.xml", "BBC News - World", ("News", "World")),
        ("https://feeds.bbc.example/uk.xml", "BBC News - UK", ("News",)),
    ]
    assert document.feeds[0].html_url == "https://www.bbc.example/news/world"


def test_opml_1_0_and_lower_case_attribute_names_are_read() -> None:
    document = parse_opml(
        opml(
            '<outline title="Old Reader Feed" xmlurl="https://old.example/rss" '
            'htmlurl="https://old.example/"/>',
            head="<head/>",
            version="1.0",
        ),
        "old.opml",
    )
    assert document.version == "1.0"
    (feed,) = document.feeds
    assert (feed.xml_url, feed.html_url, feed.title) == (
        "https://old.example/rss",
        "https://old.example/",
        "Old Reader Feed",
    )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://x.example/&lol9;"/></body></opml>
"""


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "laughs.opml"
    path.write_bytes(BILLION_LAUGHS)
    with pytest.raises(OpmlError) as caught:
        read_opml(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: refused:")
    assert "DTD" in message and "billion laughs" in message


def test_an_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE opml [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        '<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://x.example/"/>'
        "</body></opml>"
    ).encode()
    with pytest.raises(OpmlError) as caught:
        parse_opml(data, "xxe.opml")
    assert "xxe.opml: refused:" in str(caught.value)
    assert "XXE" in str(caught.value)
    assert "TOP-SECRET-VALUE" not in str(caught.value)


def test_an_external_dtd_is_refused() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE opml SYSTEM "http://dtd.example/opml.dtd">\n'
        b'<opml version="2.0"><body/></opml>'
    )
    with pytest.raises(OpmlError) as caught:
        parse_opml(data, "dtd.opml")
    assert "dtd.opml: refused:" in str(caught.value)
    assert "external DTD" in str(caught.value)
    assert "http://dtd.example/opml.dtd" in str(caught.value)


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.opml"
    head = opml('<outline text="x" xmlUrl="https://x.example/"/>')
    path.write_bytes(head + b"<!--" + b"x" * (MAX_OPML_BYTES - len(head)) + b"-->")
    with pytest.raises(OpmlError) as caught:
        read_opml(path)
    assert str(caught.value) == (
        f"{path}: refused: the file is larger than 5 MiB ({MAX_OPML_BYTES} bytes)"
    )


def test_a_file_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.opml"
    body = opml('<outline text="x" xmlUrl="https://x.example/"/>')
    padding = MAX_OPML_BYTES - len(body) - len(b"<!---->")
    path.write_bytes(body + b"<!--" + b"x" * padding + b"-->")
    assert len(read_opml(path).feeds) == 1


def _nested(levels: int) -> bytes:
    """A document whose deepest element is ``levels`` deep (opml=1, body=2, outlines…)."""
    outlines = levels - 2
    inner = '<outline text="leaf" xmlUrl="https://deep.example/"/>'
    return opml('<outline text="f">' * (outlines - 1) + inner + "</outline>" * (outlines - 1))


def test_too_deep_a_file_is_refused_and_the_limit_itself_is_fine() -> None:
    assert len(parse_opml(_nested(MAX_DEPTH), "ok.opml").feeds) == 1
    with pytest.raises(OpmlError) as caught:
        parse_opml(_nested(MAX_DEPTH + 1), "deep.opml")
    assert "deep.opml: refused: elements are nested more than 32 levels deep" in str(caught.value)
    # a hostile depth stops at the limit, long before the end of the file
    with pytest.raises(OpmlError):
        parse_opml(b"<opml><body>" + b"<outline>" * 200_000, "deeper.opml")


def test_too_many_outlines_are_refused() -> None:
    line = '<outline text="x" xmlUrl="https://x.example/{}"/>'
    fine = "".join(line.format(i) for i in range(MAX_OUTLINES))
    assert len(parse_opml(opml(fine), "ok.opml").feeds) == MAX_OUTLINES
    with pytest.raises(OpmlError) as caught:
        parse_opml(opml(fine + line.format("one-more")), "many.opml")
    assert str(caught.value) == f"many.opml: refused: more than {MAX_OUTLINES} outlines"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<opml><body><outline></body></opml>", "not valid XML: mismatched tag: line 1"),
        (b'<opml><body><outline text="&nbsp;"/></body></opml>', "not valid XML: undefined entity"),
        (b"\xff\xfe garbage", "not valid XML"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML file: the root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "not an OPML file: it has no <body>"),
        (b"  \n", "not an OPML file: the file is empty"),
    ],
    ids=["mismatched", "entity", "garbage", "rss", "no-body", "empty"],
)
def test_invalid_files_are_errors_naming_the_file(data: bytes, problem: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(data, "bad.opml")
    assert str(caught.value).startswith(f"bad.opml: {problem}")


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(OpmlError) as caught:
        read_opml(tmp_path / "missing.opml")
    assert (
        str(caught.value)
        == f"{tmp_path / 'missing.opml'}: cannot read the file: No such file or directory"
    )


# --- export and import ---------------------------------------------------------------------


def test_export_then_import_into_an_empty_file_gives_the_same_outlets(tmp_path: Path) -> None:
    source = load_outlets(outlets_file(tmp_path))
    exported = export_opml(source)
    document = parse_opml(exported, "export.opml")
    assert len(document.feeds) == sum(len(o.feeds) for o in source)

    target = tmp_path / "new" / "outlets.toml"
    target.parent.mkdir()
    edited = OutletsFile.open(target)
    plan = plan_import(document, edited)
    assert plan.skipped == [] and plan.notes == []
    edited.save()
    assert as_tuples(load_outlets(target)) == as_tuples(source)
    assert target.read_text().startswith("# Outlets aggregator follows")


def test_the_shipped_outlets_survive_a_round_trip(tmp_path: Path) -> None:
    source = load_outlets(SHIPPED_OUTLETS)
    target = tmp_path / "outlets.toml"
    edited = OutletsFile.open(target)
    plan_import(parse_opml(export_opml(source), "shipped.opml"), edited)
    edited.save()
    assert as_tuples(load_outlets(target)) == as_tuples(source)


def test_export_is_opml_2_with_one_outline_per_feed() -> None:
    outlets = (
        OutletConfig(
            name='A & B "News" <x>',
            homepage="https://ab.example/",
            aliases=("A&B",),
            feeds=("https://ab.example/1.xml?a=1&b=2", "https://ab.example/2.xml"),
            interval=timedelta(minutes=90),
        ),
        OutletConfig(name="Bare\x01", homepage=None, aliases=(), feeds=("https://bare.example/",)),
    )
    exported = export_opml(outlets)
    assert exported.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"')
    document = parse_opml(exported, "x.opml")
    assert [(f.xml_url, f.title, f.html_url, f.outlet) for f in document.feeds] == [
        (
            "https://ab.example/1.xml?a=1&b=2",
            'A & B "News" <x>',
            "https://ab.example/",
            'A & B "News" <x>',
        ),
        ("https://ab.example/2.xml", 'A & B "News" <x>', "https://ab.example/", 'A & B "News" <x>'),
        ("https://bare.example/", "Bare", None, "Bare"),
    ]
    assert document.feeds[0].aliases == ("A&B",)
    assert document.feeds[0].interval == "1h30m"
    assert b"\x01" not in exported


def test_import_groups_by_site_and_names_outlets_from_titles(tmp_path: Path) -> None:
    path = outlets_file(tmp_path)
    document = parse_opml(
        opml(
            '<outline text="News">'
            '<outline text="World news | The Guardian" xmlUrl="https://guardian.example/world/rss"'
            ' htmlUrl="https://www.guardian.example/world"/>'
            '<outline text="Politics | The Guardian" xmlUrl="https://guardian.example/politics/rss"'
            ' htmlUrl="https://guardian.example/politics"/>'
            "</outline>"
            '<outline text="Some Blog" xmlUrl="https://blog.example/feed"/>'
            '<outline text="Some Blog" xmlUrl="https://blog.example/comments"/>'
        ),
        "subs.opml",
    )
    edited = OutletsFile.open(path)
    plan = plan_import(document, edited)
    assert [(o.name, o.feeds, o.homepage) for o in plan.added] == [
        (
            "The Guardian",
            ("https://guardian.example/world/rss", "https://guardian.example/politics/rss"),
            "https://www.guardian.example/world",
        ),
        ("Some Blog", ("https://blog.example/feed", "https://blog.example/comments"), None),
    ]
    edited.save()
    after = path.read_text()
    assert after.startswith(COMMENTED)  # appended: every byte before stays
    names = [o.name for o in load_outlets(path)]
    assert names[-2:] == ["The Guardian", "Some Blog"]


def test_import_skips_known_and_repeated_feeds_and_extends_existing_outlets(
    tmp_path: Path,
) -> None:
    path = outlets_file(tmp_path)
    before = path.read_text()
    document = parse_opml(
        opml(
            # known feed: skipped
            '<outline text="Wire" xmlUrl="https://wire.example/top.xml"/>'
            # same name as an existing outlet (ignoring case): gets the new feed
            '<outline text="wire service" xmlUrl="https://wire.example/sport.xml"/>'
            # an alias of an existing outlet: that outlet gets it
            '<outline text="WS" xmlUrl="https://wire.example/tech.xml"/>'
            '<outline text="Literal Daily" xmlUrl="https://daily.example/sport"/>'
            '<outline text="Tricky" xmlUrl="https://tricky.example/d.xml"/>'
            # repeated in the file: once
            '<outline text="New One" xmlUrl="https://new.example/rss"/>\n'
            '<outline text="New One" xmlUrl="https://new.example/rss"/>'
            '<outline text="Not web" xmlUrl="ftp://files.example/feed"/>'
        ),
        "subs.opml",
    )
    edited = OutletsFile.open(path)
    plan = plan_import(document, edited)
    assert plan.skipped == [
        ("https://wire.example/top.xml", "already a feed of outlet 'Wire Service'"),
        ("https://new.example/rss", "listed twice in the file (line 2)"),
        ("ftp://files.example/feed", "not an http(s) URL"),
    ]
    assert plan.extended == [
        ("Wire Service", ["https://wire.example/sport.xml", "https://wire.example/tech.xml"]),
        ("Literal Daily", ["https://daily.example/sport"]),
        ("Tricky", ["https://tricky.example/d.xml"]),
    ]
    assert [o.name for o in plan.added] == ["New One"]
    edited.save()

    outlets = {o.name: o for o in load_outlets(path)}
    assert outlets["Wire Service"].feeds == (
        "https://wire.example/top.xml",
        "https://wire.example/world.xml",
        "https://wire.example/sport.xml",
        "https://wire.example/tech.xml",
    )
    assert outlets["Literal Daily"].feeds == (
        "https://daily.example/rss",
        "https://daily.example/sport",
    )
    assert outlets["Tricky"].feeds[-1] == "https://tricky.example/d.xml"
    assert outlets["New One"].feeds == ("https://new.example/rss",)
    after = path.read_text()
    # Only the lines that had to change did: a comma after the last item, the "]" line
    # of a list closed after its item, and the one-line list, written anew.
    assert removed_lines(before, after) == [
        '-     "https://wire.example/world.xml"  # no trailing comma here\n',
        "- feeds = ['https://daily.example/rss']  # one line\n",
        '-   "https://tricky.example/c.xml"]\n',
    ]
    assert (
        '    "https://wire.example/world.xml",  # no trailing comma here\n'
        '    "https://wire.example/sport.xml",\n'
        '    "https://wire.example/tech.xml",\n'
        "]\n"
    ) in after
    assert '  "https://tricky.example/c.xml", "https://tricky.example/d.xml"]\n' in after
    assert '    # "https://wire.example/old.xml",  retired in 2023\n' in after

    # importing the same file again changes nothing
    again = OutletsFile.open(path)
    plan = plan_import(document, again)
    assert not again.changed and plan.feeds_added == 0


def test_a_conflicting_alias_is_left_out_with_a_note(tmp_path: Path) -> None:
    path = outlets_file(tmp_path)
    exported = export_opml(
        [OutletConfig("Fresh", None, ("WS", "Fresh News"), ("https://fresh.example/rss",))]
    )
    edited = OutletsFile.open(path)
    plan = plan_import(parse_opml(exported, "x.opml"), edited)
    assert plan.notes == ["outlet 'Fresh': alias 'WS' left out: it already names an outlet"]
    edited.save()
    assert load_outlets(path)[-1].aliases == ("Fresh News",)


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    path = tmp_path / "outlets.toml"
    original = COMMENTED.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    edited = OutletsFile.open(path)
    edited.add_feeds(0, ["https://wire.example/extra.xml"])
    edited.append(NewOutlet("Crlf", ("https://crlf.example/rss",)))
    edited.save()
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert load_outlets(path)[0].feeds[-1] == "https://wire.example/extra.xml"


# --- validation: nothing is written on error -----------------------------------------------


def test_a_duplicate_is_refused_and_the_file_is_unchanged(tmp_path: Path) -> None:
    path = outlets_file(tmp_path)
    edited = OutletsFile.open(path)
    edited.append(NewOutlet("Copycat", ("https://wire.example/top.xml",)))
    with pytest.raises(ConfigError) as caught:
        edited.save()
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "already belongs to outlet 'Wire Service'" in message
    assert "nothing written" in message
    assert path.read_text() == COMMENTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outlets.toml"]  # no temporary left


def test_an_inline_outlets_array_cannot_be_extended_and_is_left_alone(tmp_path: Path) -> None:
    text = 'outlets = [{ name = "Inline", feeds = ["https://inline.example/rss"] }]\n'
    path = outlets_file(tmp_path, text)
    edited = OutletsFile.open(path)
    edited.add_feeds(0, ["https://inline.example/more"])
    with pytest.raises(ConfigError) as caught:
        edited.save()
    assert "cannot find the feeds list of outlet 'Inline'" in str(caught.value)
    assert path.read_text() == text


def test_a_broken_outlets_file_is_refused_before_any_change(tmp_path: Path) -> None:
    path = outlets_file(tmp_path, "[[outlets]]\nname = \n")
    with pytest.raises(ConfigError) as caught:
        OutletsFile.open(path)
    assert f"{path}:2:" in str(caught.value)


def test_the_file_changing_underneath_is_detected(tmp_path: Path) -> None:
    path = outlets_file(tmp_path)
    edited = OutletsFile.open(path)
    edited.append(NewOutlet("Late", ("https://late.example/rss",)))
    path.write_text(COMMENTED + "\n# someone else's edit\n")
    with pytest.raises(Exception, match="changed while it was being edited"):
        edited.save()
    assert path.read_text().endswith("# someone else's edit\n")


def test_check_validates_without_writing(tmp_path: Path) -> None:
    path = outlets_file(tmp_path)
    edited = OutletsFile.open(path)
    edited.append(NewOutlet("Checked", ("https://checked.example/rss",), interval="30m"))
    text, outlets = edited.check()
    assert text.startswith(COMMENTED) and outlets[-1].name == "Checked"
    assert path.read_text() == COMMENTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outlets.toml"]


def test_the_files_permissions_are_kept(tmp_path: Path) -> None:
    path = outlets_file(tmp_path)
    path.chmod(0o640)
    edited = OutletsFile.open(path)
    edited.append(NewOutlet("Perm", ("https://perm.example/rss",)))
    edited.save()
    assert path.stat().st_mode & 0o777 == 0o640


# --- rendering -----------------------------------------------------------------------------


def test_rendered_blocks_escape_what_toml_needs() -> None:
    block = NewOutlet(
        name='Quote " and \\ and \t and \x7f',
        feeds=("https://a.example/1", "https://a.example/2"),
        homepage="https://a.example/",
        aliases=("Über",),
        interval="1h",
    ).render()
    assert block == (
        "[[outlets]]\n"
        'name = "Quote \\" and \\\\ and \\t and \\u007F"\n'
        'homepage = "https://a.example/"\n'
        'aliases = ["Über"]\n'
        "feeds = [\n"
        '    "https://a.example/1",\n'
        '    "https://a.example/2",\n'
        "]\n"
        'interval = "1h"\n'
    )
    assert toml_string("\n") == '"\\u000A"'


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(minutes=30), "30m"), (timedelta(hours=1, minutes=30), "1h30m"),
     (timedelta(days=1), "1d"), (timedelta(seconds=90), "1m30s")],
)  # fmt: skip
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
