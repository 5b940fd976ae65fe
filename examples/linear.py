"""y = x1 + x2 + x3: a model whose value of information and Shapley effects are known in
closed form (docs/decisions.md), used by the tests and `make validate`."""

import riskmc


def total(x, years):
    return {"y": x["x1"] + x["x2"] + x["x3"]}


MODEL = riskmc.Model("linear", inputs=[riskmc.Input("x1"), riskmc.Input("x2"), riskmc.Input("x3")],
                     outputs=[riskmc.Output("y", headline=True)], vectorised=total)
