"""First-evaluation journey: run the agent on the dataset, score it, apply the quality gates."""
