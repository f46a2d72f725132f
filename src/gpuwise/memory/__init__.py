"""Memory terms, one module per term (weights now; gradients, optimizer, activations with plan)."""
