"""kpanic.qr.image."""
