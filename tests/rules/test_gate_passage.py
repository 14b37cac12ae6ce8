"""rules/gate_passage.py: grouping unpaid tags into passages, and what the alert says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devices.rfid_gate.epc import gtin_to_sgtin_hex
from hub.catalog import Catalog, parse_catalog
from hub.journal import Journal
from rules.gate_passage import MAX_LISTED, Passage, PassageBook, alert_content, describe_tag

EPC = "3074257BF7194E4000001A85"  # TDS worked example: GTIN 80614141123458, serial 6789
CATALOG = Path(__file__).resolve().parents[2] / "configs" / "catalog.toml"


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    journal = Journal(tmp_path / "hub.db")
    await journal.open()
    task = asyncio.create_task(journal.run())
    cat = Catalog(journal)
    await cat.upsert(parse_catalog(CATALOG.read_text()))
    yield cat
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    journal.close()


def ids() -> PassageBook:
    counter = iter(range(100))
    return PassageBook("gate-out", gap_s=3.0, alarm_s=5.0, new_id=lambda: f"p{next(counter)}")


def test_first_unpaid_tag_opens_a_passage_with_alarm_and_alert() -> None:
    book = ids()
    step = book.add(["A", "B", "A"], now=100.0)
    assert step is not None and step.opened and step.alarm
    assert step.added == ("A", "B") and step.passage.epcs == ["A", "B"]
    assert step.passage.alert_key == "unpaid_exit:gate-out:p0"


def test_later_tags_join_the_passage_without_a_new_alarm() -> None:
    book = ids()
    book.add(["A"], now=100.0)
    step = book.add(["B"], now=102.0)
    assert step is not None and not step.opened and not step.alarm
    assert step.added == ("B",) and step.passage.id == "p0"
    assert book.add(["A", "B"], now=103.0) is None  # bounced in the doorway: nothing new
    step = book.add(["C"], now=104.5)  # within 3 s of B: still the same passage
    assert step is not None and step.passage.epcs == ["A", "B", "C"]


def test_a_long_passage_alarms_again_when_the_siren_ran_out() -> None:
    book = ids()
    book.add(["A"], now=100.0)
    step = book.add(["B"], now=102.5)
    assert step is not None and not step.alarm
    step = book.add(["C"], now=105.0)  # 5 s (alarm_seconds) after the alarm
    assert step is not None and step.alarm and not step.opened
    step = book.add(["D"], now=107.0)
    assert step is not None and not step.alarm


def test_a_gap_ends_the_passage() -> None:
    book = ids()
    book.add(["A"], now=100.0)
    step = book.add(["A", "B"], now=103.5)  # 3.5 s > gap: a new passage, A again
    assert step is not None and step.opened and step.alarm
    assert step.passage.id == "p1" and step.passage.epcs == ["A", "B"]


async def test_describe_tag_sgtin_with_catalog(catalog: Catalog) -> None:
    assert describe_tag(EPC, catalog) == {
        "epc": EPC,
        "scheme": "sgtin-96",
        "uri": "urn:epc:id:sgtin:0614141.812345.6789",
        "gtin": "80614141123458",
        "serial": "6789",
        "name": "Merino wool scarf",
        "price": "239.00",
        "currency": "CNY",
    }


async def test_describe_tag_unknown_item_and_unknown_scheme(catalog: Catalog) -> None:
    unknown_item = gtin_to_sgtin_hex("40614141000010", 5)
    d = describe_tag(unknown_item, catalog)
    assert d["gtin"] == "40614141000010" and d["serial"] == "5" and "name" not in d
    raw = describe_tag("E28011700000020D2A412182", catalog)
    assert raw == {"epc": "E28011700000020D2A412182", "scheme": None, "uri": None}


async def test_alert_content_lists_every_tag(catalog: Catalog) -> None:
    scarf2 = gtin_to_sgtin_hex("80614141123458", 42)
    p = Passage(
        id="p0",
        gate="gate-out",
        started=1.0,
        last=1.0,
        alarmed_at=1.0,
        epcs=[EPC, scarf2, "E28011700000020D2A412182"],
    )
    title, data = alert_content(p, "Exit RFID gate", catalog)
    assert title == "3 unpaid items leaving through Exit RFID gate: Merino wool scarf and 2 more"
    # The first tag at the top level, for simple consumers ...
    assert (data["epc"], data["gtin"], data["serial"], data["name"]) == (
        EPC,
        "80614141123458",
        "6789",
        "Merino wool scarf",
    )
    # ... and all of them.
    assert data["count"] == 3 and data["epcs"] == p.epcs and data["passage"] == "p0"
    assert [t.get("serial") for t in data["tags"]] == ["6789", "42", None]
    p.epcs = [EPC]
    title, data = alert_content(p, "Exit RFID gate", catalog)
    assert title == "Unpaid item leaving through Exit RFID gate: Merino wool scarf"


async def test_alert_content_of_a_huge_passage_is_bounded(catalog: Catalog) -> None:
    epcs = [gtin_to_sgtin_hex("80614141123458", i) for i in range(MAX_LISTED + 10)]
    p = Passage(id="p0", gate="g", started=1.0, last=1.0, alarmed_at=1.0, epcs=epcs)
    _, data = alert_content(p, "g", catalog)
    assert data["count"] == MAX_LISTED + 10 and data["truncated"] == 10
    assert len(data["tags"]) == len(data["epcs"]) == MAX_LISTED
