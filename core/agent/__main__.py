"""``python -m core.agent``: the unlock agent process (started by ``unlock``).

It reads one frame with the data key and time to live from stdin; see
:func:`core.agent.launch.start_agent`.
"""

import sys

from core.agent.launch import _agent_main
from core.vault.gcpause import allow_gc_pause

if __name__ == "__main__":
    allow_gc_pause()  # vaultui's own process: bulk listings may pause the collector
    sys.exit(_agent_main())
