"""kpanic.web."""
