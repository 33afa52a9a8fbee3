"""Insight: the phase ledger and the measurements built on it (phases, funnel, people, answers)."""
