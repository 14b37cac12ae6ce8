"""The simulated unmanned store of each checkout model, as a store-file dict."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hub.catalog import normalise_gtin
from hub.unmanned.config import Model

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "configs" / "catalog.toml"
#: Slots per shelf.
SLOTS = 4


def catalog_items() -> list[dict[str, Any]]:
    """Countable catalog items with a pack weight (what shelves and tags can carry)."""
    raw = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return [
        {**i, "gtin": normalise_gtin(str(i["gtin"]))}
        for i in raw.get("items", [])
        if i.get("weight_g") and i.get("unit", "each") == "each"
    ]


def planogram(shelves: int) -> dict[str, dict[str, str]]:
    """shelf id → slot → GTIN: the catalog's items in order, round the shelves."""
    items = catalog_items()
    out: dict[str, dict[str, str]] = {}
    k = 0
    for s in range(1, shelves + 1):
        out[f"shelf-{s}"] = {}
        for slot in range(1, SLOTS + 1):
            out[f"shelf-{s}"][f"s{slot}"] = items[k % len(items)]["gtin"]
            k += 1
    return out


def store_dict(model: Model, *, entry_key: str, shelves: int = 6) -> dict[str, Any]:
    """The store file (``[store]``, ``[unmanned]``, ``[[devices]]``) for ``model``."""
    devices: list[dict[str, Any]] = [
        {"id": "door-in", "kind": "door", "role": "entry", "zone": "entrance"},
    ]
    unmanned: dict[str, Any] = {
        "enabled": True,
        "model": model,
        "entry_door": "door-in",
        "entry_keys": {"demo": entry_key},
    }
    if model == "grab_and_go":
        devices.append({"id": "door-out", "kind": "door", "role": "exit", "zone": "exit"})
        unmanned["exit_door"] = "door-out"
        for sid, slots in planogram(shelves).items():
            devices.append({"id": sid, "kind": "shelf", "zone": "floor", "slots": slots})
    elif model == "rfid_box":
        devices += [
            {"id": "door-out", "kind": "door", "role": "exit", "zone": "exit"},
            {"id": "counter-rfid", "kind": "rfid_gate", "zone": "counter",
             "inside_antennas": [1], "outside_antennas": [2]},
            {"id": "counter-kiosk", "kind": "kiosk", "zone": "counter"},
            {"id": "gate-exit", "kind": "rfid_gate", "zone": "exit", "exit": True,
             "inside_antennas": [1], "outside_antennas": [2]},
        ]  # fmt: skip
        unmanned.update(
            exit_door="door-out",
            exit_reader="gate-exit",
            counter_reader="counter-rfid",
            counter_kiosk="counter-kiosk",
        )
    else:
        devices += [
            {"id": "exit-inner", "kind": "door", "role": "exit", "zone": "exit",
             "vestibule": "exit-1", "side": "inner"},
            {"id": "exit-outer", "kind": "door", "role": "exit", "zone": "exit",
             "vestibule": "exit-1", "side": "outer"},
            {"id": "gate-vestibule", "kind": "rfid_gate", "zone": "exit",
             "inside_antennas": [1], "outside_antennas": [2]},
        ]  # fmt: skip
        unmanned.update(exit_door=None, vestibule="exit-1", vestibule_reader="gate-vestibule")
    return {"store": {"id": "s1", "name": f"Unmanned demo ({model})"}, "unmanned": unmanned,
            "devices": devices}  # fmt: skip


def toml_text(data: dict[str, Any]) -> str:
    """A store dict as TOML (for ``configs/unmanned-*.toml`` and the CLI)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(type(v))

    out: list[str] = []
    for table in ("store", "unmanned"):
        out.append(f"[{table}]")
        out += [f"{k} = {value(v)}" for k, v in data[table].items() if v is not None]
        out.append("")
    for d in data["devices"]:
        out.append("[[devices]]")
        out += [f"{k} = {value(v)}" for k, v in d.items()]
        out.append("")
    return "\n".join(out)
