"""Mempool: bounded, deduplicated, nonce-ordered per sender, rechecked after each commit."""
