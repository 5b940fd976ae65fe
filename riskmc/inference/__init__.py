"""Posteriors: importance sampling with Pareto-smoothed weights, tempered SMC when it fails."""
