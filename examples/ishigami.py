"""# The Ishigami function

    y = sin(x1) + 7 sin(x2)^2 + 0.1 x3^4 sin(x1),    x1, x2, x3 uniform on [-pi, pi]

A standard test of global sensitivity analysis (Ishigami and Homma, 1990): its Sobol
indices are known exactly. First order: S1 = 0.314, S2 = 0.442, S3 = 0; total:
ST1 = 0.558, ST2 = 0.442, ST3 = 0.244 (x3 acts only through its interaction with x1).

A model without years, written in the compiled style: one function of a single draw,
whose parameters are the inputs by name and `out`, the draw's outputs in the order
declared. riskmc compiles it with numba.
"""

import math

import riskmc


def ishigami(x1, x2, x3, out):
    s1 = math.sin(x1)
    out[0] = s1 + 7.0 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * s1


MODEL = riskmc.Model(
    "ishigami",
    inputs=[riskmc.Input(f"x{i}", "dimensionless", f"input {i}", -math.pi, math.pi) for i in (1, 2, 3)],
    outputs=[riskmc.Output("y", "dimensionless", "Ishigami function", headline=True)],
    compiled=ishigami,
    doc=__doc__,
)
