"""Trading domain: order and account values shared by the risk engine, executors and runners."""
