"""The HTTP server: FastAPI app factory, routers per resource, policies, problem documents.

``datafair serve`` runs :func:`datafair.api.app.create_app` under uvicorn. Handlers parse,
check a policy (:mod:`datafair.api.policies`), call one service and render; every error becomes
an RFC 9457 problem in :mod:`datafair.api.problems`.
"""
