"""Sample support agent for the fictional shop Acme Outfitters: offline, deterministic, traced.

Replace it with your own agent; keep `predict(query: str) -> str` traced with `@mlflow.trace`.
"""

from .support_agent import predict

__all__ = ["predict"]
