"""The store scenario runner: simulated shoppers in an unmanned store (docs/unmanned.md).

``layout`` writes the store (doors, readers, shelves) for a checkout model,
``shoppers`` is what a shopper does, ``runner`` plays a seeded scenario against a
running hub and scores the bills against what every shopper really took.
"""
