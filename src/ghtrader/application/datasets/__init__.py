"""Dataset use cases: the main schedule, main_l5, feature / label builds, the online feature
store and drift checks. Import the use cases from their modules (``schedule``, ``main_l5``,
``build``, ``online``, ``drift``); this package imports nothing at load time."""
