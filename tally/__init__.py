"""The tally of a motion: quorum, proportional apportionment of the deputies'
seats among yes, no and abstain in exact integers, the two seeded lotteries,
and the result document. Pure functions on plain data; depends on
`delegation` only.

Public API:
- `close_motion(e, *, motion, roster, method, quorum, no_quorum, close_hash,
  reveal) -> dict`: resolve an Electorate and return its result document,
  seeded by `motion_seed(reveal, e)`.
- `result_document(counts, *, motion, roster, method, quorum, no_quorum,
  close_hash, seed) -> dict`: the same from already computed Counts.
- `provisional_tally(e, *, roster, method, quorum, no_quorum,
  weights_limit=None) -> dict`: the live tally of an open motion;
  `provisional_document(counts, weights, *, roster, method, quorum,
  no_quorum) -> dict`: the same from maintained counts and weights.
- `seats_for(counts, *, seats, method, quorum, no_quorum, seed)
  -> (met, seats)`, `quorum_met(counts, quorum)`,
  `instructions(seed, roster, seats)`.
- The seed nobody can choose (SPEC section 16), reusable by any lottery:
  `lottery_secret(key_seed, assembly_id, lottery)` (r), `commit_hash(r)`,
  `reveal_matches(reveal_hex, commit_hex)`, `ballot_item(key, choice)`,
  `pool_item(key)`, `participants_digest(items)` (D),
  `ballots_digest(members, ballots)`, `lottery_seed(r, d)`,
  `motion_seed(r, electorate)`.
- `apportion(method, votes, seats, *, tie_order)`, `largest_remainder`,
  `dhondt`, `sainte_lague`: generic over any named parties.
- `choice_order(seed)`, `deputy_order(seed, keys)`, `ZERO_SEED`.
- `Method`, `ApportionError` (`.code`).
"""

from vocabulary import Method

from .apportion import (
    ApportionError,
    apportion,
    dhondt,
    largest_remainder,
    parse_method,
    sainte_lague,
)
from .lottery import (
    ZERO_SEED,
    ballot_item,
    ballots_digest,
    choice_order,
    commit_hash,
    deputy_order,
    lottery_secret,
    lottery_seed,
    participants_digest,
    pool_item,
    reveal_matches,
)
from .result import (
    close_motion,
    instructions,
    motion_seed,
    provisional_document,
    provisional_tally,
    quorum_met,
    result_document,
    seats_for,
)

__all__ = [
    "ApportionError",
    "Method",
    "ZERO_SEED",
    "apportion",
    "ballot_item",
    "ballots_digest",
    "choice_order",
    "commit_hash",
    "close_motion",
    "deputy_order",
    "dhondt",
    "instructions",
    "largest_remainder",
    "lottery_secret",
    "lottery_seed",
    "motion_seed",
    "participants_digest",
    "pool_item",
    "parse_method",
    "provisional_document",
    "provisional_tally",
    "quorum_met",
    "result_document",
    "reveal_matches",
    "sainte_lague",
    "seats_for",
]
