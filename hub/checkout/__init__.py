"""Self-checkout kiosks: sessions, the bagging-area weight check, payments, sales,
receipts, e-invoice records and stock locks.  See docs/checkout.md.

The plugin is ``hub.checkout.service:plugin``; the pricing it uses is the shared
library :mod:`hub.pricing`.  Nothing is imported here: ``hub.checkout.config``
must stay cheap to import for the hub's own config.
"""
