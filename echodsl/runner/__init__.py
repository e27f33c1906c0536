"""Running studies: plan (profile × seed) pairs, run each (train, evaluate, record) through
one launcher, and keep the results store the single source of truth."""
