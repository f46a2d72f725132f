"""`gpuwise serve`: the local web page and its JSON API (the ``web`` extra: Starlette, uvicorn).

- :mod:`gpuwise.web.api`: a request's fields -> the command line's own document (no Starlette).
- :mod:`gpuwise.web.app`: the Starlette application (page, catalogue, API, OpenAPI, guards).
- :mod:`gpuwise.web.openapi`: the API's description, made from the commands' parsers.
- ``static/``: the page (HTML, JS, CSS) and the vendored Apache ECharts with its licence.
"""
