"""Connections to systems outside the service (marketplaces, payment systems)."""
