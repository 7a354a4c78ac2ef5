"""kpanic.classify."""
