"""Merchant intake (orders in, masked views out) and the telephony carriers' webhooks. An entry point."""
