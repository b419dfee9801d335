"""The web dashboard and prediction service (``bmelearn serve``): FastAPI, server-rendered pages,
a versioned JSON API under ``/api/v1``."""

from bmelearn.web.app import create_app

__all__ = ["create_app"]
