"""The unlock agent: a background process that holds a vault's data key.

``vaultui --batch unlock --ttl 15m`` opens the vault once (paying the key derivation),
then starts ``python -m core.agent``, which keeps the vault open and answers requests
on a 0600 Unix socket (``Settings.agent_socket_path``) from processes of the same user
only (``SO_PEERCRED``). It forgets the key when the time is up, on ``lock``, and on
SIGTERM.

Modules:

- :mod:`core.agent.protocol`: framing and peer checks (built-ins only);
- :mod:`core.agent.client`: finding the agent and talking to it (built-ins only, so the
  ``--batch`` fast path stays cheap);
- :mod:`core.agent.ops`: a re-export of :mod:`core.service.ops`, the operations the
  agent runs (the same ones ``--batch`` runs in-process);
- :mod:`core.agent.server`: the socket server and its lifecycle;
- :mod:`core.agent.launch`: starting, querying and stopping an agent.

This package imports nothing at import time, so ``import core.agent.client`` stays
cheap.
"""
