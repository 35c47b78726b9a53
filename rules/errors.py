from models.errors import PolicyError

__all__ = ["PolicyError"]
