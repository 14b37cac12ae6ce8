"""docs/contract.md must list every kind, event and command the code knows."""

from __future__ import annotations

import re

import pytest

from devices import drivers
from tests.conftest import REPO

CONTRACT = (REPO / "docs" / "contract.md").read_text()


def section(kind: str) -> str:
    match = re.search(rf"^### `{re.escape(kind)}`.*?(?=^### |^## |\Z)", CONTRACT, re.M | re.S)
    assert match, f"docs/contract.md has no section for kind {kind!r}"
    return match.group(0)


@pytest.mark.parametrize("kind", sorted(drivers()))
def test_every_kind_event_and_command_is_documented(kind: str) -> None:
    text = section(kind)
    codec = drivers()[kind].codec
    for name in [*codec.events, *codec.commands]:
        assert f"`{name}`" in text, f"{kind}: `{name}` is missing from docs/contract.md"


@pytest.mark.parametrize("kind", sorted(drivers()))
def test_every_kind_has_a_readme(kind: str) -> None:
    assert (REPO / "devices" / kind / "README.md").exists()
