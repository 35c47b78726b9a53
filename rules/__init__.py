"""The policy as pure functions: no I/O, deterministic, so workflows may call them."""
