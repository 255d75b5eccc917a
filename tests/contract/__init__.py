"""Store contract suite: the same tests for every StoreBundle backend."""
