#!/usr/bin/env python3
"""Adds to fixtures/producers/ what GPTQModel, auto-round, transformers + bitsandbytes and AMD
Quark really write, run on the CPU over the committed BF16 source-llama (made by
make_real_fixtures.py, not rewritten here), with each quantized module's errors from the
producer's own dequantizer in expected.json (rows of the other variants are kept).

- GPTQModel (GPTQ, and AWQ GEMM): GPTQModel.load + quantize + save, calibration on random token
  ids. Decoder: its TorchLinear (nn_modules/qlinear/torch.py; the unpack and
  scales[g_idx] * (w - zeros[g_idx]) of PackableQuantLinear.dequantize_weight in
  nn_modules/qlinear/__init__.py) over the saved qweight / qzeros / scales / g_idx, after its
  own v1 -> v2 zero conversion for `checkpoint_format: gptq` (utils/model.py
  convert_gptq_v1_to_v2_format_module, what its loader does); AWQ through its
  quantization/awq/utils/packing_utils.py dequantize_gemm.
- auto-round (auto_gptq / auto_awq exports): AutoRound quantizes (RTN, iters 0) and
  save_quantized writes the packing; decoded by the same GPTQModel code (transformers loads
  both exports, quant_method gptq / awq, through GPTQModel).
- transformers + bitsandbytes: from_pretrained with a BitsAndBytesConfig on the CPU, then
  save_pretrained. Decoder: QuantState.from_dict over each module's weight.* entries and the
  library's flat 4-bit decode (see make_bnb_fixtures.py for why not the native CPU kernel);
  int8_vectorwise_dequant for LLM.int8.
- AMD Quark: LLMTemplate config, ModelQuantizer.quantize_model + export_safetensors. Decoder:
  Quark's own import of the export (import_model_from_safetensors; each QParamsLinear's weight
  quantizer, see quark_errors).

Scales are handed to each decoder in float32 (GPTQModel and bitsandbytes would round their
products to the scales' or the state's 16-bit dtype); the arithmetic is the producer's own.
Figures are float32 norms (rel_error) and float64 norms of the same float32 values
(rel_error_f64), as make_real_fixtures.py computes them.

Regenerate (about two minutes on 2 cores; byte-identical output):
    "$(scripts/setup-oracles-venv.sh)" scripts/make_oracle_producers.py [VARIANT ...]
"""
import glob
import json
import os
import shutil
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# GPTQModel's CPU pool asks for 2 workers of a parent that has (cpus + 1) // 2.
os.environ.setdefault("GPTQMODEL_CPU_WORKERS", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import make_real_fixtures as real  # noqa: E402

OUT = real.OUT
SOURCE = "source-llama"
SHARD = real.SHARD


def version(name):
    return real.importlib_version(name)


def source_with_tokenizer(tmp):
    """source-llama with the in-memory word-level tokenizer saved beside it: GPTQModel and
    auto-round load a tokenizer from the model's folder, and none may be downloaded."""
    d = os.path.join(tmp, SOURCE)
    shutil.copytree(os.path.join(OUT, SOURCE), d)
    real.tiny_tokenizer().save_pretrained(d)
    return d


def finish(out):
    """Leaves the checkpoint only: tokenizer files the producers copy from the source and
    GPTQModel's per-run timing log would differ between runs or say nothing about the format."""
    for pattern in ("tokenizer*.json", "special_tokens_map.json", "quant_log.csv",
                    "chat_template.jinja"):
        for f in glob.glob(os.path.join(out, pattern)):
            os.remove(f)


# --- GPTQModel ---------------------------------------------------------------------------------

def run_gptqmodel(variant, src, **qc_args):
    from gptqmodel import BACKEND, GPTQModel, QuantizeConfig
    batches = real.calibration_batches()
    calib = [{"input_ids": b, "attention_mask": torch.ones_like(b)} for b in batches]
    # offload_to_disk would write a random temporary path into the config.
    qc = QuantizeConfig(offload_to_disk=False, **qc_args)
    model = GPTQModel.load(src, qc, device="cpu")
    # AWQ GEMM packs through AWQ_GEMM (a CUDA kernel) unless told the portable torch one, which
    # writes the same GEMM layout.
    backend = BACKEND.AWQ_TORCH if qc_args.get("method") == "awq" else BACKEND.AUTO
    model.quantize(calib, batch_size=1, backend=backend)
    out = os.path.join(OUT, variant)
    model.save(out, max_shard_size=SHARD)
    finish(out)
    return out


def gptq_decode(tensors, module, qc):
    """GPTQModel's TorchLinear dequantize_weight over the saved tensors, float32 scales."""
    from gptqmodel.nn_modules.qlinear import PackableQuantLinear
    from gptqmodel.nn_modules.qlinear.torch import TorchLinear
    from gptqmodel.utils.model import convert_gptq_v1_to_v2_format_module
    qweight = tensors[module + ".qweight"]
    scales = tensors[module + ".scales"]
    bits = qc["bits"]
    in_features = qweight.shape[0] * 32 // bits
    out_features = scales.shape[1]
    m = TorchLinear(bits=bits, group_size=qc["group_size"], sym=qc["sym"],
                    desc_act=qc["desc_act"], in_features=in_features,
                    out_features=out_features, bias=False, pack_dtype=torch.int32,
                    register_buffers=True)
    m.qweight.data = qweight.clone()
    m.qzeros.data = tensors[module + ".qzeros"].clone()
    m.g_idx.data = tensors[module + ".g_idx"].clone()
    if qc.get("checkpoint_format", "gptq") == "gptq":
        convert_gptq_v1_to_v2_format_module(m, bits=bits, pack_dtype=torch.int32)
    m.scales = torch.nn.Parameter(scales.float(), requires_grad=False)
    w = PackableQuantLinear.dequantize_weight(m)  # [in, out]
    assert w.dtype == torch.float32, w.dtype
    return w.t().contiguous()


def awq_decode(tensors, module, qc):
    """GPTQModel's AWQ GEMM dequantizer (AutoAWQ's unpack_awq / reverse_awq_order)."""
    from gptqmodel.quantization.awq.utils.packing_utils import dequantize_gemm
    w = dequantize_gemm(tensors[module + ".qweight"], tensors[module + ".qzeros"],
                        tensors[module + ".scales"].float(), qc["bits"], qc["group_size"])
    assert w.dtype == torch.float32, w.dtype
    return w.t().contiguous()


# --- auto-round ----------------------------------------------------------------------------------

def run_auto_round(variant, src, fmt, **args):
    from auto_round import AutoRound
    from auto_round.compressors import shard_writer
    from transformers import AutoModelForCausalLM
    # auto-round's ShardWriter sizes shards from the model (1 GB at least) and takes no size from
    # the caller; 200 KB shards like the other producers' put modules across files.
    init = shard_writer.ShardWriter.__init__
    if not getattr(init, "_fixture_shards", False):
        def small_shards(self, model, bits, max_shard_size=None, safe_serialization=True):
            init(self, model, bits, max_shard_size or SHARD, safe_serialization)
        small_shards._fixture_shards = True
        shard_writer.ShardWriter.__init__ = small_shards
    shard_writer.ShardWriter.reset()
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.bfloat16)
    # iters 0: round-to-nearest (auto-round's RTN mode), calibrated on the same random ids.
    ar = AutoRound(model, real.tiny_tokenizer(), iters=0, device_map="cpu", nsamples=8,
                   seqlen=32, dataset=real.calibration_batches(), **args)
    tmp = tempfile.mkdtemp()
    ar.quantize_and_save(tmp, format=fmt)
    (written,) = glob.glob(os.path.join(tmp, "*", "config.json"))  # <model>-w4g32/
    out = os.path.join(OUT, variant)
    shutil.move(os.path.dirname(written), out)
    shutil.rmtree(tmp)
    finish(out)
    return out


# --- transformers + bitsandbytes ------------------------------------------------------------------

def run_bnb(variant, src, **bnb_args):
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    qc = BitsAndBytesConfig(bnb_4bit_compute_dtype=torch.bfloat16, **bnb_args)
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.bfloat16,
                                                 quantization_config=qc, device_map="cpu")
    out = os.path.join(OUT, variant)
    model.save_pretrained(out, max_shard_size=SHARD)
    finish(out)
    return out


def bnb_errors(out):
    from bnb_reference import decode_4bit, decode_8bit
    tensors = real.load_dir(out)
    decoded = {}
    for module in sorted(k[:-len(".SCB")] for k in tensors if k.endswith(".SCB")):
        decoded[module] = decode_8bit(tensors, module)
    for module in sorted(k[:-len(".weight.absmax")] for k in tensors
                         if k.endswith(".weight.absmax")):
        decoded[module] = decode_4bit(tensors, module)
    return decoded


# --- AMD Quark -------------------------------------------------------------------------------------

def run_quark(variant, src, scheme):
    from quark.torch import LLMTemplate, ModelQuantizer, export_safetensors
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.bfloat16)
    cfg = LLMTemplate.get("llama").get_config(scheme=scheme, exclude_layers=["lm_head"])
    model = ModelQuantizer(cfg).quantize_model(model, real.calibration_batches())
    out = os.path.join(OUT, variant)
    # export_safetensors ends in the model's save_pretrained with its default shard size;
    # 200 KB shards like the other producers' put modules across files.
    cls = type(model)
    save = cls.save_pretrained
    cls.save_pretrained = lambda self, d, **kw: save(self, d, max_shard_size=SHARD, **kw)
    try:
        export_safetensors(model, out, custom_mode="quark")
    finally:
        cls.save_pretrained = save
    finish(out)
    return out


def quark_errors(out):
    """Quark's own import of its export (export/api.py import_model_from_safetensors): each
    QParamsLinear's weight quantizer turns the stored weight back into float32
    (_get_qweight: FP8 codes x scale, MXFP4 nibbles x 2^(e8m0 - 127))."""
    from quark.torch import import_model_from_safetensors
    from quark.torch.export.nn.modules.qparamslinear import QParamsLinear
    model = import_model_from_safetensors(None, out, device="cpu")
    decoded = {}
    for name, m in model.named_modules():
        if isinstance(m, QParamsLinear):
            w = m._get_qweight(m.weight)
            assert w.dtype == torch.float32, (name, w.dtype)
            decoded[name] = w.detach().clone()
    return decoded


def packed_errors(out, decode):
    qc = json.load(open(os.path.join(out, "config.json")))["quantization_config"]
    tensors = real.load_dir(out)
    modules = sorted(k[:-len(".qweight")] for k in tensors if k.endswith(".qweight"))
    return {m: decode(tensors, m, qc) for m in modules}


# --- The set -------------------------------------------------------------------------------------

# (variant, how to make it, decoder, producer name, the producer's name for the scheme)
GPTQMODEL = [
    ("gptq-int4-sym", dict(bits=4, group_size=32, sym=True, desc_act=False), gptq_decode,
     "GPTQ 4-bit sym, group 32"),
    ("gptq-int4-asym", dict(bits=4, group_size=32, sym=False, desc_act=False), gptq_decode,
     "GPTQ 4-bit asym, group 32"),
    ("gptq-int4-desc-act", dict(bits=4, group_size=32, sym=True, desc_act=True,
                                act_group_aware=False), gptq_decode,
     "GPTQ 4-bit sym, group 32, desc_act"),
    ("gptq-int4-asym-v2", dict(bits=4, group_size=32, sym=False, desc_act=False,
                               format="gptq_v2"), gptq_decode,
     "GPTQ 4-bit asym, group 32, gptq_v2 zeros"),
    ("gptq-int2-sym", dict(bits=2, group_size=32, sym=True, desc_act=False), gptq_decode,
     "GPTQ 2-bit sym, group 32"),
    ("gptq-int3-sym", dict(bits=3, group_size=32, sym=True, desc_act=False), gptq_decode,
     "GPTQ 3-bit sym, group 32"),
    ("gptq-int8-sym", dict(bits=8, group_size=64, sym=True, desc_act=False), gptq_decode,
     "GPTQ 8-bit sym, group 64"),
    ("awq-gemm", dict(method="awq", format="gemm", bits=4, group_size=32, sym=False),
     awq_decode, "AWQ 4-bit GEMM, group 32"),
]


AUTO_ROUND = [
    ("ar-gptq-int4-sym", "auto_gptq", dict(bits=4, group_size=32, sym=True), gptq_decode,
     "auto_gptq, 4-bit sym, group 32"),
    ("ar-awq-int4", "auto_awq", dict(bits=4, group_size=32, sym=False), awq_decode,
     "auto_awq, 4-bit asym, group 32"),
]


BNB = [
    ("bnb-nf4", dict(load_in_4bit=True, bnb_4bit_quant_type="nf4"), "load_in_4bit nf4"),
    ("bnb-nf4-double", dict(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                            bnb_4bit_use_double_quant=True), "load_in_4bit nf4, double quant"),
    ("bnb-fp4", dict(load_in_4bit=True, bnb_4bit_quant_type="fp4"), "load_in_4bit fp4"),
    ("bnb-int8", dict(load_in_8bit=True), "load_in_8bit"),
]


QUARK = [
    ("quark-fp8", "fp8", "fp8 (per-tensor weight and static input scales)"),
    ("quark-mxfp4", "mxfp4", "mxfp4 (OCP MX, weights and dynamic inputs)"),
]


def main():
    only = set(sys.argv[1:])
    path = os.path.join(OUT, "expected.json")
    doc = json.load(open(path))
    expected = doc["variants"]
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # GPTQModel writes logs/ into the working directory
        src = source_with_tokenizer(tmp)
        for variant, args, decode, scheme in GPTQMODEL:
            if only and variant not in only:
                continue
            shutil.rmtree(os.path.join(OUT, variant), ignore_errors=True)
            out = run_gptqmodel(variant, src, **args)
            figures = real.errors_f32(packed_errors(out, decode), os.path.join(OUT, SOURCE))
            expected[variant] = {"producer": f"gptqmodel {version('gptqmodel')}",
                                 "scheme": scheme, "source": SOURCE, "modules": figures}
        for variant, fmt, args, decode, scheme in AUTO_ROUND:
            if only and variant not in only:
                continue
            shutil.rmtree(os.path.join(OUT, variant), ignore_errors=True)
            out = run_auto_round(variant, src, fmt, **args)
            figures = real.errors_f32(packed_errors(out, decode), os.path.join(OUT, SOURCE))
            expected[variant] = {"producer": f"auto-round {version('auto-round')}",
                                 "scheme": scheme, "source": SOURCE, "modules": figures}
        for variant, args, scheme in BNB:
            if only and variant not in only:
                continue
            shutil.rmtree(os.path.join(OUT, variant), ignore_errors=True)
            out = run_bnb(variant, src, **args)
            figures = real.errors_f32(bnb_errors(out), os.path.join(OUT, SOURCE))
            expected[variant] = {"producer": f"transformers {version('transformers')}, "
                                             f"bitsandbytes {version('bitsandbytes')}",
                                 "scheme": scheme, "source": SOURCE, "modules": figures}
        for variant, scheme, description in QUARK:
            if only and variant not in only:
                continue
            shutil.rmtree(os.path.join(OUT, variant), ignore_errors=True)
            out = run_quark(variant, src, scheme)
            figures = real.errors_f32(quark_errors(out), os.path.join(OUT, SOURCE))
            expected[variant] = {"producer": f"amd-quark {version('amd-quark')}",
                                 "scheme": description, "source": SOURCE, "modules": figures}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
