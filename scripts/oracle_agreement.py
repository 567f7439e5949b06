"""How the check_*_oracle.py scripts hold a producer's decode to the figures in expected.json:
the relative error ||W_hat - W|| / ||W|| (float64 norms) to 1e-9 relative, the largest absolute
error to 1e-12."""
import torch


class Agreement:
    def __init__(self, decoder):
        self.decoder = decoder  # who decoded, for the mismatch lines ("GPTQModel", "Quark")
        self.bad = 0
        self.worst = 0.0

    def check(self, variant, module, decoded, source, want):
        """`decoded`: the producer's values; `source`: the module's BF16 source weight."""
        ref = source.to(torch.float32).double()
        diff = decoded.double() - ref
        rel = float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(ref))
        max_abs = float(diff.abs().max())
        d = abs(rel - want["rel_error"]) / want["rel_error"]
        self.worst = max(self.worst, d)
        if d > 1e-9 or abs(max_abs - want["max_abs_error"]) > 1e-12:
            self.bad += 1
            print(f"MISMATCH {variant} {module}: {self.decoder} {rel!r} / {max_abs!r}, "
                  f"numpy {want['rel_error']!r} / {want['max_abs_error']!r}")

    def finish(self):
        """Prints the summary; the exit status (1 on any mismatch)."""
        print(f"largest relative difference of rel_error: {self.worst:.3g}; "
              f"mismatches: {self.bad}")
        return 1 if self.bad else 0
