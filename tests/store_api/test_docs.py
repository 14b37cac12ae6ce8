"""docs/store_api.md must list every endpoint the app serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import EnvSettings, load_config
from hub.hub import Hub
from store_api.app import create_app
from tests.conftest import DEMO, REPO

DOC = (REPO / "docs" / "store_api.md").read_text()


def endpoints(tmp_path: Path) -> list[str]:
    hub = Hub(load_config(EnvSettings(config=DEMO, data_dir=tmp_path, api_port=0)), plugins=[])
    spec = create_app(hub).openapi()
    return [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops]


def test_every_endpoint_is_documented(tmp_path: Path) -> None:
    missing = [e for e in endpoints(tmp_path) if f"`{e}`" not in DOC]
    assert not missing, f"docs/store_api.md does not list {missing}"


@pytest.mark.parametrize("doc", ["store_api.md", "handheld.md"])
def test_docs_exist(doc: str) -> None:
    assert (REPO / "docs" / doc).stat().st_size > 1000
