"""A source of alerts on demand: exercises the whole alert pipeline before (and beside) the
real integrations, in tests and in the demo."""
