"""Training on several devices and hosts with ``tf.distribute`` (docs/distributed.md).

``make_strategy`` turns the ``strategy``/``devices`` options into a TensorFlow strategy (it must
run before any other TensorFlow op); ``workers`` says which worker this process is and gives
non-chief workers their scratch folder; ``agreement`` checks that all workers start the same
run; ``launch`` starts N local workers for trying multi-worker training on one machine.
"""

from tf_infomax.distributed.strategy import STRATEGIES, make_strategy, resolve_strategy_name
from tf_infomax.distributed.workers import WorkerRole, worker_role

__all__ = ["STRATEGIES", "WorkerRole", "make_strategy", "resolve_strategy_name", "worker_role"]
