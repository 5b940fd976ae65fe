"""JSON Schemas of riskmc's output files, shipped with the package."""
