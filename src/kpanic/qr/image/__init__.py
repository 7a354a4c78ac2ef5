"""Decode phone photos of a drm_panic QR screen (and clean module matrices).

``decode_photo`` tries zxing-cpp first, then locates the symbol itself, samples the module
grid with a confidence per module and corrects it with erasure-aware Reed-Solomon.
"""

from kpanic.qr.image.matrix import decode_matrix
from kpanic.qr.image.pipeline import decode_burst, decode_photo
from kpanic.qr.image.result import PhotoResult

__all__ = ["PhotoResult", "decode_burst", "decode_matrix", "decode_photo"]
