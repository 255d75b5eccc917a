"""Plain HTTP fetches (holiday list)."""
