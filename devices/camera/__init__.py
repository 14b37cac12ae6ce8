"""Cameras: frames the hub analyses, or a camera's own AI results (kind ``camera``)."""
