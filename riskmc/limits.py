"""Limits riskmc holds everywhere: beyond them a request is a mistake, refused with one line."""

# The most draws one run takes: about five days of sampling on a 2-core machine.
MAX_DRAWS = 10 ** 12
# A priors or model file is a page or two of text; far larger is not one (and reading
# /dev/zero, or a FIFO nobody writes to, must not hang or exhaust memory).
MAX_FILE_BYTES = 1 << 20
# Draws a run takes when neither the command line nor the priors file's [run] says.
DEFAULT_DRAWS = 100_000
# draws.parquet is saved by default only while it stays small: ~1 KB a draw.
SAVE_DRAWS_BYTES = 32 * 2 ** 20
