"""Synthetic images for the vision pipelines: catalog items on a counter, licence plates,
and a camera frame source built from them. CPU-heavy: call it off the event loop."""
