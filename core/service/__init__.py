"""The one service every front end calls: the facade, ``--batch``, the app, the agent.

It validates input, writes exactly one audit event per operation and returns typed
results. Front ends never write audit lines or touch storage themselves.

Modules:

- :mod:`core.service.registry`: ``op``/``OPS``/``dispatch``, the named operations the
  agent and ``--batch`` run (plain data in and out: the agent's wire boundary);
- :mod:`core.service.secrets`: the audited secret calls (read, store, delete, undelete,
  rollback, metadata, list) with typed results; the facade is a thin layer over them;
- :mod:`core.service.ops`: the named operations themselves (get, put, list, import, ...),
  plus :mod:`core.service.audit_ops` and :mod:`core.service.purge_ops`;
- :mod:`core.service.shapes`: records and versions as plain data, value helpers;
- :mod:`core.service.storage`, :mod:`core.service.audit`, :mod:`core.service.backup`,
  :mod:`core.service.rotation`, :mod:`core.service.sync`: what the app and commands may
  use of those subsystems (re-exported types and calls).

This package imports nothing at import time.
"""
