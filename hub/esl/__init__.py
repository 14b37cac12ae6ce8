"""Electronic shelf labels: HQ prices → rendered labels → access points → labels.

Modules: :mod:`.prices` (shelf prices per group/zone, promotions), :mod:`.batches`
(HQ batches, idempotency, progress), :mod:`.labels` (label DB, bindings),
:mod:`.content` / :mod:`.render` / :mod:`.barcodes` / :mod:`.fonts` (drawing),
:mod:`.pool` (the price-tag pool: dedupe, parallel rendering), :mod:`.transport`
(AP queues, retries), :mod:`.health` (check-ins, alerts, price audit),
:mod:`.service` (the hub plugin), :mod:`.ble` (Bluetooth ESL Service), :mod:`.cli`.
See ``docs/esl.md``.
"""
