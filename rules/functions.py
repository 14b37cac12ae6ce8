"""The functions expressions may call: a fixed table, plus what plugins register.

Each gets the scope first, so the store functions read the in-memory store view
(never I/O).  A function given a missing value is not called: the result is
missing too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from rules.scope import MISSING, Scope

Function = Callable[..., Any]
#: Words of the language, not names of functions.
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


def _local(scope: Scope) -> Any:
    return scope.local_time()


def _stock_qty(scope: Scope, item: str, zone: str) -> Any:
    level = scope.store.stock(item, zone)
    return MISSING if level is None else level.qty


def _safe_stock(scope: Scope, item: str, zone: str) -> Any:
    level = scope.store.stock(item, zone)
    return MISSING if level is None or level.safe is None else level.safe


def _online(scope: Scope, device: str) -> Any:
    value = scope.store.online(device)
    return MISSING if value is None else value


def _flag(scope: Scope, name: str) -> Any:
    return scope.store.flag(name)


#: name → (function of (scope, *args), allowed argument counts). Plugins add theirs
#: with :func:`register_function`.
FUNCTIONS: dict[str, tuple[Function, range]] = {
    "len": (lambda s, x: len(x), range(1, 2)),
    "abs": (lambda s, x: abs(x), range(1, 2)),
    "min": (lambda s, *xs: min(xs), range(1, 16)),
    "max": (lambda s, *xs: max(xs), range(1, 16)),
    "round": (lambda s, x, n=0: round(x, n), range(1, 3)),
    "lower": (lambda s, x: str(x).lower(), range(1, 2)),
    "upper": (lambda s, x: str(x).upper(), range(1, 2)),
    "startswith": (lambda s, x, p: str(x).startswith(p), range(2, 3)),
    "endswith": (lambda s, x, p: str(x).endswith(p), range(2, 3)),
    "matches": (lambda s, x, p: fnmatch.fnmatchcase(str(x), p), range(2, 3)),
    "online": (_online, range(1, 2)),
    "stock": (_stock_qty, range(2, 3)),
    "safe_stock": (_safe_stock, range(2, 3)),
    "flag": (_flag, range(1, 2)),
    "hour": (lambda s: _local(s).hour, range(0, 1)),
    "minute": (lambda s: _local(s).minute, range(0, 1)),
    "weekday": (lambda s: _local(s).strftime("%a").lower(), range(0, 1)),
}


def register_function(name: str, fn: Function, args: range) -> None:
    """Make ``name(...)`` callable in expressions; ``fn`` gets the scope first.
    E.g. a members plugin: ``register_function("tier", lambda s, m: ..., range(1, 2))``."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in KEYWORDS:
        raise ValueError(f"bad function name {name!r}")
    FUNCTIONS[name] = (fn, args)
