"""The paper's decoherence budget: closed forms of Prokof'ev & Stamp and the per-sample table."""
