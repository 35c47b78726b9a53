class PolicyError(ValueError):
    """An action or a request that the policy refuses; the message names the problem."""
