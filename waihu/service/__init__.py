"""The campaign service: storage, scheduler, webhook outbox and the HTTP API for strategy systems.

Workers wire into it through :mod:`waihu.service.scheduler` (claim → dial → record_result); the HTTP API is
built by :func:`waihu.server.create_app` (the API plus the console).
"""
