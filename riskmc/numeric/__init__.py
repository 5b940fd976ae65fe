"""The ground floor: compiled helpers, tables, special functions, blocks, the native cache."""
