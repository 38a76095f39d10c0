"""The mock webhook receiver."""
