"""The log and its projections as SQLAlchemy Core tables.

The entries and their Merkle nodes are the source of truth; every other table
is a projection that ``BallotBox.rebuild`` can recreate from the log. Only
portable types and constraints are used, so SQLite and PostgreSQL run the
same code.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

entries = Table(
    "entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("data", LargeBinary, nullable=False),  # canonical bytes: the Merkle leaf
    Column("kind", String(16), nullable=False),
    Column("author", String(64), nullable=False),
)
# A member's own entries (GET /api/members/{key}/entries) without a scan.
Index("ix_entries_author", entries.c.author)

# Perfect subtrees of the Merkle tree: level L, index i covers leaves
# [i*2^L, (i+1)*2^L). Any proof is O(log n) lookups in this table.
nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# One row (id = 1): the tip of the log. Updating it first in every append
# transaction is also the write lock that gives one total order.
head = Table(
    "head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("head_hash", LargeBinary(32), nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("received", String(32), nullable=False),
    Column("checkpoint", Text, nullable=False),
)

# One row (id = 1): the version of this schema that wrote the database
# (``SCHEMA_VERSION``; docs/SPEC.md section 13). A database without it was
# written by version 1, before the row existed.
schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

# 1: the log, its nodes, head and projections. 2: the schema_version row.
# 3: deliberation's projections (comments, proposals, supports) and comment_texts.
# 4: the lotteries projection (docs/SPEC.md section 16).
# 5: projection_digest (ballots.integrity).
# 6: closed_paths and closed_path_data: a closed motion's vote paths as of its close (ballots.paths).
# Bump it (and add a line to docs/SPEC.md section 13.4) whenever a table
# changes: an older database then gets its projections rebuilt at start-up.
SCHEMA_VERSION = 6

# --- projections -----------------------------------------------------------

assembly = Table(
    "assembly",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("assembly_id", String(64), nullable=False),
    Column("server", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("organizers", Text, nullable=False),  # canonical JSON list
    Column("rules", Text, nullable=False),  # canonical JSON object
)

authors = Table(
    "authors",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

invites = Table(
    "invites",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("note", Text, nullable=False),
    Column("used_by", String(64), nullable=True, unique=True),
)

members = Table(
    "members",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("enrolled_index", BigInteger, nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
)

topics = Table(
    "topics",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("parent", String(64), nullable=True),
    Column("idx", BigInteger, nullable=False),
)

motions = Table(
    "motions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("topic", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("opens", String(32), nullable=False),
    Column("closes", String(32), nullable=False),
    Column("quorum", Integer, nullable=True),
    Column("idx", BigInteger, nullable=False),
    Column("close_index", BigInteger, nullable=True),
    Column("close_hash", String(64), nullable=True),
    Column("result_index", BigInteger, nullable=True),
    Column("result", Text, nullable=True),  # canonical JSON result document
)

delegations = Table(
    "delegations",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("scope", String(72), primary_key=True),
    Column("target", String(64), nullable=False),
)
# Who delegates to a member, in O(delegators) (issue 16); created at open on older databases too.
DELEGATIONS_BY_TARGET = Index("ix_delegations_target", delegations.c.target)

ballots = Table(
    "ballots",
    metadata,
    Column("motion", String(64), primary_key=True),
    Column("member", String(64), primary_key=True),
    Column("choice", String(8), nullable=False),
)

roster = Table(
    "roster",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("deputy", String(64), nullable=False),
)

# What deputies voted in the assembly: the latest `report` (by the deputy)
# and the latest `record` (by an organizer) per motion and deputy.
deputy_votes = Table(
    "deputy_votes",
    metadata,
    Column("motion", String(64), primary_key=True),
    Column("deputy", String(64), primary_key=True),
    Column("source_kind", String(8), primary_key=True),  # "report" | "record"
    Column("voted", String(8), nullable=False),
    Column("source", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("author", String(64), nullable=False),
)

# Draws by lot (docs/SPEC.md section 4): the draw, and per member their latest
# `volunteer` (null: never volunteered) and whether an organizer certified them.
draws = Table(
    "draws",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("seats", Integer, nullable=False),
    Column("opens", String(32), nullable=False),
    Column("closes", String(32), nullable=False),
    Column("certified", Boolean, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("drawn_index", BigInteger, nullable=True),
    Column("drawn", Text, nullable=True),  # canonical JSON of the `drawn` fields
)

draw_people = Table(
    "draw_people",
    metadata,
    Column("draw", String(64), primary_key=True),
    Column("member", String(64), primary_key=True),
    Column("standing", Boolean, nullable=True),
    Column("certified", Boolean, nullable=False),
)

# One row (id = 1) once a `witnesses` statement exists: the policy in force
# (docs/SPEC.md section 14), a projection like the others.
witness_policy = Table(
    "witness_policy",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, nullable=False),  # the index of its `witnesses` entry
    Column("cosigners", Text, nullable=False),  # canonical JSON list of {name, key, url}
    Column("quorum", Integer, nullable=False),
    Column("grace", Integer, nullable=False),
)

# Deliberation (docs/SPEC.md section 15).
comments = Table(
    "comments",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("author", String(64), nullable=False),
    Column("motion", String(64), nullable=True),
    Column("proposal", String(64), nullable=True),
    Column("stance", String(8), nullable=False),
    Column("reply_to", BigInteger, nullable=True),
    Column("text_hash", String(64), nullable=False),
    Column("received", String(32), nullable=True),
    Column("redacted_by", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
)

proposals = Table(
    "proposals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("topic", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("amends", String(64), nullable=True),
    Column("author", String(64), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("motion", String(64), nullable=True),
)

supports = Table(
    "supports",
    metadata,
    Column("proposal", String(64), primary_key=True),
    Column("member", String(64), primary_key=True),
    Column("idx", BigInteger, nullable=False),
)
# One row per lottery (docs/SPEC.md section 16): its commit, and its reveal
# once the close (or drawn) entry gave it. r itself is never stored.
lotteries = Table(
    "lotteries",
    metadata,
    Column("name", String(72), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("reveal", String(64), nullable=True),
)

# A closed motion's vote paths as of its close (ballots.paths, docs/SPEC.md
# section 9): the size and SHA-256 of the snapshot, a projection like the
# others (so the keyed digest covers it); the snapshot itself is the row of
# `closed_path_data` below, checked against this digest whenever it is read.
closed_paths = Table(
    "closed_paths",
    metadata,
    Column("motion", String(64), primary_key=True),
    Column("close_index", BigInteger, nullable=False),
    Column("members", BigInteger, nullable=False),  # members enrolled by the close
    Column("digest", String(64), nullable=False),  # SHA-256 hex of the uncompressed snapshot
)


PROJECTIONS = (
    assembly,
    authors,
    invites,
    members,
    topics,
    motions,
    delegations,
    ballots,
    roster,
    deputy_votes,
    draws,
    draw_people,
    witness_policy,
    comments,
    proposals,
    supports,
    lotteries,
    closed_paths,
)

# The snapshots of `closed_paths`, zlib-compressed: rebuilt with the
# projections (``upgrade.rebuild_projections``, a restore) but not read at
# start-up nor summed into the digest row by row (a few MB each at 10^6
# members): each is read when a member asks, and must hash to its digest.
closed_path_data = Table(
    "closed_path_data",
    metadata,
    Column("motion", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# --- not part of the log ------------------------------------------------------

# Every cosignature line a witness returned (docs/SPEC.md section 14), by the size of the
# checkpoint it cosigns. Not a projection and not in the log: it is written
# outside the append transaction, after a witness answers, and a rebuild
# leaves it alone (docs/SPEC.md section 9, Witnesses). The checkpoint itself
# is not stored: Ed25519 is deterministic, so the server re-signs the note of
# any size from its root.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", Text, primary_key=True),  # the cosigner's key name
    Column("line", Text, primary_key=True),  # `— <name> <base64>` and its newline
    Column("key", String(64), nullable=False),  # the cosigner key (hex) the line verified with
    Column("timestamp", BigInteger, nullable=False),  # the witness's clock, POSIX seconds
)
Index("ix_cosignatures_witness", cosignatures.c.witness, cosignatures.c.key, cosignatures.c.size)

# Not a projection: the texts of comments are off the log (docs/SPEC.md
# section 15.2), so ``rebuild`` never touches this table, and a `redact`
# deletes the row in the transaction that appends it.
texts = Table(
    "comment_texts",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
    Column("salt", String(32), nullable=False),
)

# The keyed digest of the projections (ballots.integrity), of the log's first
# `size` entries: written with the head, checked at every start.
projection_digest = Table(
    "projection_digest",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
)
