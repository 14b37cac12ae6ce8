"""storehub: the in-store edge hub."""

__version__ = "0.1.0"
