"""Unmanned checkout: shopper sessions from the entry door to the exit bill.

See docs/unmanned.md.  Modules: ``config`` (the ``[unmanned]`` table), ``tokens``
(signed entry tokens verified offline), ``sessions`` (shopper sessions and carts),
``shelves`` (grab-and-go: weight + vision + overhead tracking fusion, with ``hands``
for several hands in one scale change and ``one_hand`` for one), ``carts`` (the
shelves' picks into the sessions' carts), ``billing`` (bill with evidence and
confidence), ``review`` (the staff review queue), ``exits`` (the exit decision: the
rules every checkout model keeps, and grab-and-go's), ``rfid_box`` and ``exit_gate``
(the other two models' exits) and ``service`` (the plugin).
"""
