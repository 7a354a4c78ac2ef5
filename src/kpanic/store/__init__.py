"""kpanic.store."""
