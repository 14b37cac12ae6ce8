"""hub/catalog.py: GTINs, the catalog file, the catalog in SQLite."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from hub.catalog import (
    Catalog,
    CatalogError,
    GtinError,
    Item,
    gtin_check_digit,
    normalise_gtin,
    parse_catalog,
)
from hub.journal import Journal

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "configs" / "catalog.toml"


@pytest.mark.parametrize(
    ("code", "gtin14"),
    [
        ("80614141123458", "80614141123458"),  # GTIN-14 (the TDS example)
        ("6901234567892", "06901234567892"),  # GTIN-13 (EAN-13)
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("96385074", "00000096385074"),  # GTIN-8
        (" 6901234567892 ", "06901234567892"),
    ],
)
def test_normalise_gtin(code: str, gtin14: str) -> None:
    assert normalise_gtin(code) == gtin14


@pytest.mark.parametrize(
    "code", ["6901234567893", "690123456789", "abc", "", "６９０１２３４５６７８９２"]
)
def test_not_a_gtin(code: str) -> None:
    with pytest.raises(GtinError):
        normalise_gtin(code)


def test_check_digit() -> None:
    assert gtin_check_digit("8061414112345") == "8"
    assert gtin_check_digit("690123456789") == "2"


def test_the_demo_catalog_is_valid_and_big_enough() -> None:
    items = parse_catalog(DEMO_CATALOG.read_text(), str(DEMO_CATALOG))
    assert len(items) >= 30
    assert all(normalise_gtin(i.gtin) == i.gtin for i in items)
    by_gtin = {i.gtin: i for i in items}
    scarf = by_gtin["80614141123458"]
    assert (scarf.name, scarf.price, scarf.currency) == ("Merino wool scarf", 23900, "CNY")
    apples = next(i for i in items if i.unit == "kg")
    assert apples.tax_rate == Decimal("0.09") and apples.price_text() == "12.98"
    assert any(i.age_restricted for i in items)
    # The simulators' products are all known, so simulated alerts name their items.
    from simulators.catalog import PRODUCTS

    assert {p.gtin for p in PRODUCTS} <= set(by_gtin)


def test_file_defaults_and_minor_units() -> None:
    items = parse_catalog(
        'currency = "JPY"\ntax_rate = "0.10"\n'
        '[[items]]\ngtin = "4901234567894"\nname = "Onigiri"\nprice = "150"\n'
        '[[items]]\ngtin = "96385074"\nname = "Gum"\nprice_minor = 99\ncurrency = "USD"\n'
        'tax_rate = "0"\nweight_g = 12\n'
    )
    assert [(i.price, i.currency, i.tax_rate) for i in items] == [
        (150, "JPY", Decimal("0.10")),
        (99, "USD", Decimal("0")),
    ]
    assert items[1].gtin == "00000096385074" and items[1].price_text() == "0.99"
    assert items[0].price_text() == "150"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("items = [", "not valid TOML"),
        ('[[items]]\ngtin = "6901234567893"\nname = "x"\nprice = "1.00"\n', "check digit"),
        ('[[items]]\ngtin = "6901234567892"\nname = "x"\nprice = 1.5\n', "items[0]"),
        ('[[items]]\ngtin = "6901234567892"\nname = "x"\n', "exactly one of price"),
        ('[[items]]\ngtin = "6901234567892"\nname = "x"\nprice = "1.005"\n', "more decimals"),
        ('[[items]]\ngtin = "6901234567892"\nname = "x"\nprice = "1"\ncolour = "red"\n', "colour"),
        (
            '[[items]]\ngtin = "6901234567892"\nname = "a"\nprice = "1"\n'
            '[[items]]\ngtin = "06901234567892"\nname = "b"\nprice = "2"\n',
            "listed twice",
        ),
        ('shop = "x"\n', "shop"),
    ],
)
def test_bad_files_name_the_item_and_key(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=r"demo\.toml") as info:
        parse_catalog(text, "demo.toml")
    assert message in str(info.value)


async def test_upsert_load_and_lookups(journal: Journal, tmp_path: Path) -> None:
    catalog = Catalog(journal)
    assert await catalog.load_file(DEMO_CATALOG) >= 30
    tea = catalog.get("6901234567892")  # as scanned: EAN-13
    assert tea is not None and tea.gtin == "06901234567892"
    assert catalog.get("06901234567892") is tea
    assert catalog.get("6901234567893") is None and catalog.get("nope") is None
    assert "6901234567892" in catalog and 42 not in catalog
    # Another hub start: the database has what was loaded, and later changes stay.
    await catalog.upsert([tea.model_copy(update={"price": 399})])
    await catalog.upsert([Item(gtin="96385074", name="Gum", price=99)])
    again = Catalog(journal)
    assert await again.load() == len(catalog)
    assert again.get("6901234567892").price == 399  # type: ignore[union-attr]
    assert again.get("96385074").name == "Gum"  # type: ignore[union-attr]
    assert await again.remove(["96385074", "4006381333931"]) == 1
    assert again.get("96385074") is None


async def test_a_missing_file_is_a_catalog_error(journal: Journal, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        await Catalog(journal).load_file(tmp_path / "nope.toml")


async def test_a_seed_file_is_loaded_again_only_when_it_changed(tmp_path: Path) -> None:
    from hub.catalog import Catalog, Item
    from hub.journal import Journal

    journal = Journal(tmp_path / "hub.db")
    await journal.open()
    task = asyncio.create_task(journal.run())
    try:
        seed = tmp_path / "catalog.toml"
        seed.write_text('[[items]]\ngtin = "6901234567892"\nname = "Tea"\nprice = "4.50"\n')
        catalog = Catalog(journal)
        assert await catalog.load_seed(seed) == 1
        # HQ publishes a new price; a restart must not put the seed's back.
        await catalog.upsert([Item(gtin="6901234567892", name="Tea", price=399)])
        assert await catalog.load_seed(seed) is None
        await catalog.load()
        found = catalog.get("6901234567892")
        assert found is not None and found.price == 399
        # Editing the file is what makes its values win again.
        seed.write_text(seed.read_text().replace("4.50", "4.80"))
        assert await catalog.load_seed(seed) == 1
        found = catalog.get("6901234567892")
        assert found is not None and found.price == 480
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        journal.close()
