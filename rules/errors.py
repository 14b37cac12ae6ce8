"""Errors of the rules engine, under the hub's tree::

    HubError
    └── RuleError              anything the rules engine refuses
        ├── RuleFileError      a rule file is invalid; the message names file, rule and field
        └── ExprError          an expression or template does not parse, or fails on a value

A rule that fails while it runs is counted (``errors``) and logged; it never
stops the engine or the events flowing through it.
"""

from __future__ import annotations

from hub.errors import HubError


class RuleError(HubError):
    """Base class of the rules engine's errors."""


class RuleFileError(RuleError):
    """One or more rule files are invalid; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class ExprError(RuleError, ValueError):
    """An expression or template is malformed, or an operation does not apply to a value
    (``"abc" < 3``).  A ``ValueError`` too, so that pydantic reports a bad template in a
    rule file like any other invalid field."""
