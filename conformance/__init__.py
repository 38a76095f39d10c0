"""The webhook conformance suite."""
