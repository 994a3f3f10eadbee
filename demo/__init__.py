"""The demo assembly, driven in-process through ``BallotBox.append``.

Neither the server's edge nor the member's client: it plays sixty members
and an organizer (with ``client.author`` and the command line's key files,
so the keys it writes work with ``liquid-mandate``) against a box it holds
directly, which is why it lives apart from both.

- ``seed``: ``seed_demo``, the honestly timed history; ``DemoInfo``.
- ``voter``: ``keep_voting``, ballots now and then on the open motions.
- ``hook``: ``demo_hook``, what ``server.py --demo-if-empty`` awaits.
"""

from demo.hook import demo_hook
from demo.seed import DemoInfo, seed_demo
from demo.voter import keep_voting

__all__ = ["DemoInfo", "demo_hook", "keep_voting", "seed_demo"]
