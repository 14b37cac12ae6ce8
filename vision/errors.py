"""Errors of the vision pipelines::

    HubError
    └── VisionError            a model, image or request the vision service cannot use
        ├── ModelError         weights missing or unreadable, or an optional package absent
        ├── ImageError         bytes that are not a decodable image
        ├── ConsentError       no active consent for what was asked (enrol, keep, match)
        └── NoFace             no face (or more than one) where exactly one was needed

Errors of the libraries below (OpenCV, ONNX Runtime, dlib, cryptography) are
translated into these at the module boundary.
"""

from __future__ import annotations

from hub.errors import HubError


class VisionError(HubError):
    """Base of the vision errors."""


class ModelError(VisionError):
    """Weights are missing or unreadable, or the package that runs them is not installed."""


class ImageError(VisionError):
    """The bytes are not an image we can decode."""


class ConsentError(VisionError):
    """The person has no active consent for this purpose."""


class NoFace(VisionError):
    """No single face was found where exactly one was needed."""
