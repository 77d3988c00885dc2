"""REST API: app factory, routers per resource, dependencies, error handlers, schemas."""
