"""Research use cases: training (``train``), artifacts and model cards (``artifacts``), serving
guard (``serving``), model family lookup (``families``), frames and benchmarks. Import from the
modules; this package imports nothing at load time."""
