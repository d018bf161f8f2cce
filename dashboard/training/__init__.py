"""Training runs: settings, Run and its statuses, admission (memory and fair share),
the input pipeline, the Keras setup and callback, the trainer thread, the queue and
result cache, devices, and the runs table. Imports `model`, `data` and `compat`.

The names pages use are re-exported here: `from dashboard import training` then
`training.start_run(...)`.
"""

from dashboard.training.keras_setup import compile_model
from dashboard.training.live_runs import (
    CACHE,
    QUEUE,
    active_run_count,
    collect_garbage_if_idle,
    stop_all,
    warm_up,
)
from dashboard.training.pool import CachedResult, ResultCache, TrainingQueue
from dashboard.training.run import (
    ACTIVE_STATUSES,
    Run,
    RunStatus,
    RunView,
    devices_text,
)
from dashboard.training.settings import LR_SCHEDULES, OPTIMIZERS, TrainSettings, make_optimizer
from dashboard.training.start import fit_spec_to_dataset, start_run

__all__ = [
    "ACTIVE_STATUSES",
    "CACHE",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "QUEUE",
    "CachedResult",
    "ResultCache",
    "Run",
    "RunStatus",
    "RunView",
    "TrainSettings",
    "TrainingQueue",
    "active_run_count",
    "collect_garbage_if_idle",
    "compile_model",
    "devices_text",
    "fit_spec_to_dataset",
    "make_optimizer",
    "start_run",
    "stop_all",
    "warm_up",
]
