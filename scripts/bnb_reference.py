"""bitsandbytes as transformers saves and reads it, for the fixture generators and checkers:
the quantization_config save_pretrained writes (no dependencies, for the MLX venv too), and the
library's own decoders (bitsandbytes and torch imported on first use). make_bnb_fixtures.py's
docstring says which decoder and why."""


def bnb_config(base_config, four, quant_type="nf4", double=False):
    """`base_config` with transformers BitsAndBytesConfig.to_dict() as save_pretrained writes it."""
    qc = {"quant_method": "bitsandbytes", "_load_in_4bit": four, "_load_in_8bit": not four,
          "load_in_4bit": four, "load_in_8bit": not four, "bnb_4bit_compute_dtype": "bfloat16",
          "bnb_4bit_quant_storage": "uint8", "bnb_4bit_quant_type": quant_type,
          "bnb_4bit_use_double_quant": double, "llm_int8_enable_fp32_cpu_offload": False,
          "llm_int8_has_fp16_weight": False, "llm_int8_skip_modules": None,
          "llm_int8_threshold": 6.0}
    return {**base_config, "quantization_config": qc}


def decode_4bit(tensors, module):
    """The module's 4-bit weight in float32: QuantState.from_dict over its weight.* entries,
    the nested absmax dequantized, then the flat decode of the CUDA kernel; the native CPU
    kernel is held equal to it where rows are whole blocks."""
    import bitsandbytes.functional as F
    import torch
    from bitsandbytes.backends.default.ops import _dequantize_4bit_compute
    from bitsandbytes.backends.utils import _get_4bit_code
    stats = {k[len(module) + 1:]: v for k, v in tensors.items()
             if k.startswith(module + ".weight.")}
    state = F.QuantState.from_dict(stats, device=torch.device("cpu"))
    absmax = state.absmax
    if state.nested:
        absmax = F.dequantize_blockwise(state.absmax, state.state2) + state.offset
    packed = tensors[module + ".weight"]
    flat = _dequantize_4bit_compute(packed.reshape(-1), absmax.float(),
                                    _get_4bit_code(state.quant_type, "cpu"), state.blocksize,
                                    tuple(state.shape), torch.float32)
    if state.shape[-1] % state.blocksize == 0:
        state.dtype = torch.float32
        assert torch.equal(F.dequantize_4bit(packed, state).reshape(flat.shape), flat), module
    return flat


def decode_8bit(tensors, module):
    """LLM.int8: the int8 weight times its saved row absmax (SCB)."""
    import bitsandbytes.functional as F
    return F.int8_vectorwise_dequant(tensors[module + ".weight"], tensors[module + ".SCB"])
