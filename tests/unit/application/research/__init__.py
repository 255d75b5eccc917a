"""Research use cases: training, benchmark, compare."""
