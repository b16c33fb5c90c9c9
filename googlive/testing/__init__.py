"""What the tests and the bench drive the handler with: the simulated browser peer."""
