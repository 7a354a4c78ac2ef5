"""kpanic: Linux kernel crash reports, from a photo of a panic QR code to a grouped dashboard."""

__version__ = "0.1.0"
