"""The customer's web layer: a thin FastAPI application over headpix.app and the core."""
