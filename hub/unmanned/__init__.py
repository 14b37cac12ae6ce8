"""Unmanned checkout: shopper sessions from the entry door to the exit bill.

See docs/unmanned.md.  Modules: ``config`` (the ``[unmanned]`` table), ``tokens``
(signed entry tokens verified offline), ``sessions`` (shopper sessions and carts),
``shelves`` (grab-and-go: weight + vision fusion and attribution), ``billing``
(bill with evidence and confidence), ``review`` (the staff review queue),
``exits`` (the exit decision of each checkout model) and ``service`` (the plugin).
"""
