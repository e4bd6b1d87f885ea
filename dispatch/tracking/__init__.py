"""The customer's tracking link: the page, its API (status, PIN, masked call) and its socket. An entry point."""
