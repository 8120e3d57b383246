"""The decisions made on plain values: nothing here imports frappe, so all of it is tested
anywhere (tier 1, with property tests)."""
