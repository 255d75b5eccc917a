"""gRPC server: servicers translate messages and call use cases; interceptors guard them."""
