"""Training, checkpoints, torchrun plumbing and chunk-wise rollout: one recipe for every profile."""
