"""The bottom layer: canonical bytes, Ed25519 signatures, the hash chain, the
RFC 9162 Merkle tree and signed checkpoints. Depends on the standard library
and PyNaCl only."""
