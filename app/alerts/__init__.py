"""Built-in alerts (SPEC §8): pure rule evaluation and state transitions; storage and delivery around them."""
