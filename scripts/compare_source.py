"""fixtures/compare/source's linear modules under the per-expert names the quantized compare
fixtures use: the fused experts.gate_up_proj [E, 2I, H] split into gate rows then up rows, and
experts.down_proj [E, H, I] per expert. Views of the source arrays, of whichever library loaded
them (numpy, torch, mlx), in one order for every generator and checker."""


def linear_modules(source, layers=2, experts=4):
    out = {}
    for l in range(layers):
        p = f"model.layers.{l}."
        out[p + "self_attn.q_proj"] = source[p + "self_attn.q_proj.weight"]
        out[p + "self_attn.o_proj"] = source[p + "self_attn.o_proj.weight"]
        for e in range(experts):
            gu = source[p + "mlp.experts.gate_up_proj"][e]
            inter = gu.shape[0] // 2
            out[f"{p}mlp.experts.{e}.gate_proj"] = gu[:inter]
            out[f"{p}mlp.experts.{e}.up_proj"] = gu[inter:]
            out[f"{p}mlp.experts.{e}.down_proj"] = source[p + "mlp.experts.down_proj"][e]
    return out
