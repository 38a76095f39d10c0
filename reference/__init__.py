"""The reference webhook dispatcher."""
