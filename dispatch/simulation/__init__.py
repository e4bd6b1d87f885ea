"""The load tools and the demo's sim riders: `manage.py simulate`, `bench_geofence` and `bench_pickup`.

A place of their own, off the request path: they drive a running server the way real clients do (`demo`,
`load`, `client`), and set up rows directly where a benchmark needs many (`accounts`, the bench commands).
"""
