"""The Monte Carlo kernel: chunk streams, uniforms, marginals, the engine that yields
states, per-chunk reductions, claims counted and evidence weighed per draw."""
