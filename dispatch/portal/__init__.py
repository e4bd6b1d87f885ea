"""The merchant portal: store managers list, create, follow, cancel and label their orders in a browser. An
entry point like the board: pages are shells, the data comes from the merchant API (dispatch/intake) and the
portal's own order view (apis.py). The core never imports this package."""
