"""The dispatcher's board: the live map page, its API and its socket. An entry point over the core."""
