"""The API's HTTP layer below the routes: ASGI middleware (request ids, access log, headers, body
limit), overload shedding, the slow-client (slowloris) protocol, coalesced writes and the HTTP
metrics. Nothing here knows what a route does."""
