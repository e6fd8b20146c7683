"""Agent evaluation with MLflow GenAI: config, scorers, quality gates, reports and a sample agent.

Kept free of imports so that `--help` and config checks start fast.
"""
