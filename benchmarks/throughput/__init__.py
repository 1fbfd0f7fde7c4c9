"""The library of the training-throughput benchmarks (``benchmarks/train_throughput*.py``).

One job per module. ``protocol`` and ``timing`` use the standard library only (the pythae
worker imports them in its own virtualenv, and the driver before TensorFlow loads); the others
import TensorFlow, so the driver imports them only after it has set TF_ENABLE_ONEDNN_OPTS.

* ``protocol``: JSON-lines workers (the pythae worker, the TF worker), both ends.
* ``timing``: interleaved repeats and per-step statistics.
* ``flops``: training FLOPs per example and the GEMMs of an FC training step.
* ``matmul_limit``: the machine's dense fp32 GEMM rates and the examples/s limit they imply.
* ``ours``: building, warming up and stepping our models.
* ``tf_worker``: our configurations in a second TF process (the other oneDNN setting).
* ``pythae_side``: pythae's virtualenv and workers, seen from the driver.
* ``results``: the JSON result (``benchmarks/results/train_throughput.json``) and its table.

Nothing here runs or parses flags on import.
"""
