"""Lambda handlers of the trade-processing API (one ZIP, several entry points).

Entry points: ``handlers.api.handler`` (API Gateway REST proxy) and ``handlers.migrate.handler`` (schema
migration). Nothing here imports the infrastructure code, and the infrastructure code does not import this.
"""
