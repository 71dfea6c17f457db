"""Runs a run's stages one after the other on the executor the recipe names: datatrove's `LocalPipelineExecutor`
(recipes/local_executor.py: with no process that outlives redraft), `RayPipelineExecutor` or `SlurmPipelineExecutor`.

A task is done when datatrove wrote `LOGS/completions/RANK` (its resume contract); a stage is done when all its tasks
are. Ray and Slurm do not raise when a task fails (Ray logs "Only 3/4 tasks completed"; a Slurm dependant waits
forever unless the cluster kills it), so after each stage, and while waiting on Slurm, the completion markers are
what counts: a stage that ended with tasks missing raises `StageFailed`, naming the ranks and their log files,
and the stages after it never run (on Slurm they are cancelled). A task that stopped on bad input (a `UsageError`
naming the file and line, found in its log) raises that error instead, so the command exits 2 on every executor.

Slurm runs are submitted once, as a chain of job arrays (`afterok`), held until their job ids are written to
`WORK/slurm-jobs.json` (recipes/slurm_jobs.py): the driver only watches. Ctrl-C leaves the jobs running, and the same
command run again re-attaches to them instead of submitting twice; once they are gone, it submits the tasks still
missing.
"""

from __future__ import annotations

import gc
import getpass
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from redraft.errors import UsageError
from redraft.recipes import slurm_jobs
from redraft.recipes.schema import ExecutorConfig
from redraft.storage import location, storage_env_names
from redraft.synth.errors import BatchesPending


@dataclass
class Stage:
    """One datatrove pipeline run as `tasks` tasks; a run is a list of them (recipes/runner.py `stages`). What a
    task runs is `steps`: the pipeline after `FreezeLoaded`."""

    name: str
    pipeline: list
    tasks: int

    @property
    def steps(self) -> list:
        return [FreezeLoaded(), *self.pipeline]


class FreezeLoaded(PipelineStep):
    """A task's first step: hides every object that exists once the task's modules are loaded (millions: datatrove,
    polars, pyarrow, the language models) from the garbage collector (`gc.freeze`). A full collection walks every
    object it sees, and the documents a task makes by the million set one off every few thousand: walking the
    loaded modules again each time cost ~7% of a 1-task `redraft filter`'s CPU on 200k pairs."""

    name = "freeze loaded objects"
    type = "⚙️ - SETUP"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        gc.collect()  # what is garbage now is collected, not frozen
        gc.freeze()
        return data


class StageFailed(RuntimeError):
    def __init__(self, stage: str, ranks: list[int], logs: list[str], cause: str = ""):
        self.stage, self.ranks, self.logs = stage, ranks, logs
        shown = ", ".join(f"rank {r}: {log}" for r, log in zip(ranks[:5], logs[:5]))
        more = f" and {len(ranks) - 5} more" if len(ranks) > 5 else ""
        super().__init__(f"stage {stage!r}: {len(ranks)} task(s) did not complete ({shown}{more})"
                         f"{f': {cause}' if cause else ''}; fix the cause and re-run the same command: completed "
                         f"tasks are kept")


def logs_dir(work: Path, stage: Stage) -> Path:
    return work / f"logs-{stage.name}"


def incomplete(work: Path, stage: Stage) -> list[int]:
    done = {p.name for p in (logs_dir(work, stage) / "completions").glob("*")}
    return [r for r in range(stage.tasks) if f"{r:05d}" not in done]


def _task_log(work: Path, stage: Stage, rank: int) -> str:
    return str(logs_dir(work, stage) / "logs" / f"task_{rank:05d}.log")


def _check(work: Path, stage: Stage, log_of=None, cause: str = "") -> None:
    missing = incomplete(work, stage)
    if missing:
        logs = [(log_of or (lambda r: _task_log(work, stage, r)))(r) for r in missing]
        bad_input = _usage_error(logs)
        if bad_input:  # a task found bad input (a line that does not parse): exit 2, as the local executor does
            raise UsageError(bad_input)
        raise StageFailed(stage.name, missing, logs, cause)


_USAGE_ERROR = re.compile(r"^redraft\.errors\.(?:UsageError|InputError|ConfigError): (.+)$", re.MULTILINE)


def _usage_error(logs: list[str]) -> str | None:
    """The message of a UsageError (bad input, named by file and line) that ended a failed task, from its log (a
    Ray or Slurm task's exception reaches the driver only there)."""
    for log in logs:
        try:
            text = location(log).read_text(errors="replace")
        except OSError:
            continue
        if found := _USAGE_ERROR.findall(text):
            return found[-1]
    return None


def run_stages(stages: list[Stage], cfg: ExecutorConfig, work: Path, env_names: list[str] = ()) -> None:
    """`env_names`: the variables holding the keys the tasks need (the teachers'). Slurm jobs inherit this process's
    environment; Ray workers read them from their own (see `connect_ray`)."""
    if os.environ.get("REDRAFT_VERBOSE", "0") == "0":
        from loguru import logger

        logger.disable("datatrove")  # its per-task INFO logs drown our progress display (REDRAFT_VERBOSE=1 shows them)
    if cfg.kind == "ray":
        _run_ray(stages, cfg, work, env_names)
    else:
        {"local": _run_local, "slurm": _run_slurm}[cfg.kind](stages, cfg, work)


# ── local ───────────────────────────────────────────────────────────────────────────────────────────────

def _run_local(stages: list[Stage], cfg: ExecutorConfig, work: Path) -> None:
    from redraft.recipes.local_executor import LocalExecutor, WorkerPool

    try:
        with WorkerPool(min(cfg.workers, max(stage.tasks for stage in stages))) as pool:
            for stage in stages:
                _run_local_stage(LocalExecutor(stage.steps, tasks=stage.tasks, workers=min(cfg.workers, stage.tasks),
                                               logging_dir=str(logs_dir(work, stage)), pool=pool), stage, work)
    finally:
        gc.unfreeze()  # FreezeLoaded froze this process's objects in tasks run here: the caller's go back to the GC


def _run_local_stage(executor, stage: Stage, work: Path) -> None:
    try:
        executor.run()
    except UsageError:  # bad input found by a task: exit 2 as before any task
        raise
    except BatchesPending:  # `--wait false`: a task submitted its batches; so must every other before the exit
        _each_task_once(stage, work)
        raise
    except Exception as e:  # a task raised: its own error, and the ranks it left undone with their logs
        missing = incomplete(work, stage)
        if missing:
            e.add_note(str(StageFailed(stage.name, missing, [_task_log(work, stage, r) for r in missing])))
        raise
    _check(work, stage)


def _each_task_once(stage: Stage, work: Path) -> None:
    """datatrove stops at the first task that raises: run every task still incomplete on its own, each submitting
    (or re-attaching to) its batches, and leave those that stop with BatchesPending again for the next run."""
    from redraft.recipes.local_executor import LocalExecutor

    for rank in incomplete(work, stage):
        try:
            LocalExecutor(stage.steps, tasks=stage.tasks, workers=1, local_tasks=1, local_rank_offset=rank,
                                  logging_dir=str(logs_dir(work, stage))).run()
        except BatchesPending:
            pass


# ── Ray ─────────────────────────────────────────────────────────────────────────────────────────────────

def _ray_bootstrap_address(address: str) -> str | None:
    """host:port of the cluster's GCS for `auto` (RAY_ADDRESS, else the head this machine started), or as given."""
    if address != "auto":
        return address.removeprefix("ray://").split("/")[0]
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    return current.read_text().strip() or None if current.exists() else None


def connect_ray(cfg: ExecutorConfig, env_names: list[str] = ()) -> None:
    """Join (or, for `address: local`, start) the Ray cluster; `env_names`: the variables holding the tasks' keys."""
    target = _ray_bootstrap_address(cfg.ray.address) if cfg.ray.address != "local" else None
    if target and target.rpartition(":")[0] in ("127.0.0.1", "localhost"):
        # else ray.init rewrites a loopback head address to the machine's IP, and retries it for ever
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise UsageError("executor.kind: ray needs Ray on this machine and on the cluster: "
                         "pip install 'redraft[ray]'") from None
    if ray.is_initialized():
        return
    address = "local"  # a new cluster of this process's own, even where one runs (None would join that one)
    if cfg.ray.address != "local":
        # ray.init retries an unreachable address for minutes: look first
        host, _, port = (target or "").rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError):
            raise UsageError(f"executor.ray.address: no Ray cluster at {cfg.ray.address!r}"
                             f"{f' ({target})' if target and target != cfg.ray.address else ''}; start one with "
                             "`ray start --head`, or set executor.ray.address to its host:port") from None
        address = target if cfg.ray.address == "auto" else cfg.ray.address
    # Never a key: Ray writes the runtime environment to its logs (runtime_env_agent.log) and shows it with the job.
    # A worker reads a key from its node's environment (`NAME=... ray start`) or from the file `NAME_FILE` names
    # (synth/openai_teacher.py `key_from_environment`): only that path goes from here.
    names = ("PYTHONPATH", "REDRAFT_PROGRESS", "REDRAFT_VERBOSE", "HF_HOME", "HF_HUB_CACHE",
             *(f"{name}_FILE" for name in env_names), *storage_env_names())
    env = {k: os.environ[k] for k in names if k in os.environ}
    import logging

    def init():
        ray.init(address=address, runtime_env={"env_vars": env} if env else None, log_to_driver=False,
                 logging_level=logging.WARNING, include_dashboard=False)

    if address == "local":
        from redraft.recipes import local_ray

        local_ray.start(init)  # the cluster's processes end with this one, even when it is killed with SIGKILL
    else:
        init()


def _unreadable_keys(names: list[str]) -> list[str]:
    """On a Ray worker: each key in `names` it cannot read, with the reason."""
    from redraft.synth.errors import TeacherUnavailable
    from redraft.synth.openai_teacher import key_from_environment

    missing = []
    for name in names:
        try:
            if not key_from_environment(name):
                missing.append(f"${name} is not set there, nor ${name}_FILE")
        except TeacherUnavailable as e:
            missing.append(str(e))
    return missing


def check_keys_on_ray(env_names: list[str]) -> None:
    """The keys this process has (the run means to use them) must be readable on the cluster too: ask a worker
    before any task starts, rather than fail every task."""
    import ray

    from redraft.synth.openai_teacher import key_from_environment

    names = [name for name in dict.fromkeys(env_names) if key_from_environment(name)]
    if not names:
        return
    missing = ray.get(ray.remote(num_cpus=0)(_unreadable_keys).remote(names))
    if missing:
        name = names[0]
        raise UsageError(
            f"executor.kind: ray: a Ray worker cannot read the teacher key: {'; '.join(missing)}. Ray is not given "
            f"keys from here (it writes a job's environment to its logs and shows it): start each node with the key "
            f"in its environment (`{name}=... ray start ...`), or write it to a file only you can read, on a "
            f"filesystem every node sees, and `export {name}_FILE=/path/to/it` here (README: Scaling out)")


def _run_ray(stages: list[Stage], cfg: ExecutorConfig, work: Path, env_names: list[str] = ()) -> None:
    from datatrove.executor import RayPipelineExecutor

    connect_ray(cfg, env_names)
    check_keys_on_ray(env_names)
    with _StageProgress(stages, work):
        for stage in stages:
            RayPipelineExecutor(stage.steps, tasks=stage.tasks, workers=min(cfg.workers, stage.tasks),
                                logging_dir=str(logs_dir(work, stage)), cpus_per_task=cfg.ray.cpus_per_task,
                                mem_per_cpu_gb=cfg.ray.mem_per_cpu_gb).run()
            _check(work, stage)


# ── Slurm ───────────────────────────────────────────────────────────────────────────────────────────────

POLL_SECONDS = float(os.environ.get("REDRAFT_SLURM_POLL", "2"))


def _slurm_executor_class():
    from datatrove.executor import SlurmPipelineExecutor

    class _SlurmStage(SlurmPipelineExecutor):
        def launch_merge_stats(self):  # redraft computes its own funnel; one job fewer to wait on or cancel
            pass

        def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
            """datatrove writes values and paths into the script as they are: quote the `#SBATCH` values for sbatch's
            own shell-like reading of them (the log paths hold the output folder), and the pickled executor's path
            (the run line's last word) for bash. Names and values were checked by SlurmConfig; `env_command` comes
            quoted from `_env_command`."""
            pickled = self.logging_dir.resolve_paths("executor.pik")
            if not run_script.endswith(f" {pickled}"):
                raise RuntimeError(f"datatrove's sbatch run line changed; cannot quote its path: {run_script!r}")
            quoted = {k: shlex.quote(str(v)) if v else v for k, v in sbatch_args.items()}  # falsy: a bare flag
            return super().get_launch_file_contents(quoted, run_script.removesuffix(pickled) + shlex.quote(pickled))

    return _SlurmStage


def _default_partition() -> str:
    out = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True)
    names = out.stdout.split()
    default = next((n[:-1] for n in names if n.endswith("*")), names[0] if names else None)
    if out.returncode or not default:
        raise UsageError(f"executor.slurm.partition: not set and `sinfo` names no partition "
                         f"({(out.stderr or out.stdout).strip()[:200]})")
    return default


def _env_command(cfg: ExecutorConfig) -> str:
    """The script's line that activates the jobs' Python, paths quoted: venv_path, condaenv (datatrove's lines), else
    the virtualenv this command runs from (it must be on a shared filesystem, like the output folder)."""
    if cfg.slurm.venv_path:
        return f"source {shlex.quote(cfg.slurm.venv_path)}"
    if cfg.slurm.condaenv:
        return f"conda init bash; conda activate {shlex.quote(cfg.slurm.condaenv)}; source ~/.bashrc"
    activate = Path(sys.prefix) / "bin" / "activate"
    if activate.exists():
        return f"source {shlex.quote(str(activate))}"
    return f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"'


def _live_jobs() -> dict[str, str]:
    """Job id -> state and reason, of this user's jobs Slurm still lists (pending, running, completing)."""
    out = subprocess.run(["squeue", "-h", "-u", getpass.getuser(), "-o", "%F|%T|%r"], capture_output=True,
                         text=True)
    if out.returncode:
        raise RuntimeError(f"squeue failed: {out.stderr.strip()}")
    jobs = {}
    for line in out.stdout.splitlines():
        job, state, reason = line.split("|", 2)
        jobs[job] = f"{state}|{reason}"
    return jobs


def _submit(stages: list[Stage], cfg: ExecutorConfig, work: Path) -> dict[str, str]:
    cls, s = _slurm_executor_class(), cfg.slurm
    work.chmod(0o700)  # the jobs run the pickled executor written here (`executor.pik`): no one else may write it
    partition = s.partition or _default_partition()
    previous, executors = None, []
    for stage in stages:
        ex = cls(stage.steps, tasks=stage.tasks, workers=min(cfg.workers, stage.tasks), time=s.time,
                 partition=partition, cpus_per_task=s.cpus_per_task, mem_per_cpu_gb=s.mem_per_cpu_gb,
                 qos=s.qos, venv_path=s.venv_path, condaenv=s.condaenv, env_command=_env_command(cfg),
                 sbatch_args={**s.sbatch_args, **slurm_jobs.HOLD}, job_name=f"{s.job_name}-{stage.name}",
                 logging_dir=str(logs_dir(work, stage)), slurm_logs_folder=str(logs_dir(work, stage) / "slurm"),
                 depends=previous, requeue=False, mail_type="NONE")
        executors.append(ex)
        previous = ex
    try:
        previous.launch_job()  # launches the whole chain, each stage with afterok on the one before
    except subprocess.CalledProcessError as e:
        raise UsageError(f"executor.slurm: sbatch refused the job: {e.output.decode(errors='replace').strip()}"
                         ) from None
    return {stage.name: str(ex.job_id) for stage, ex in zip(stages, executors)}


def _slurm_log(work: Path, stage: Stage, job: str, rank: int) -> str:
    """The task's own log when it started, else the Slurm output file of its array task."""
    task_log = location(_task_log(work, stage, rank))
    if task_log.exists():
        return str(task_log)
    try:
        index = json.loads((logs_dir(work, stage) / "ranks_to_run.json").read_text()).index(rank)
    except (OSError, ValueError):
        index = rank
    return str(logs_dir(work, stage) / "slurm" / f"{job}_{index}.out")


def _run_slurm(stages: list[Stage], cfg: ExecutorConfig, work: Path) -> None:
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        raise UsageError("executor.kind: slurm needs Slurm's `sbatch` and `squeue` on PATH: run on a login node of "
                         "the cluster, or set executor.kind to local or ray")
    jobs = slurm_jobs.recorded_jobs(work)
    live = _live_jobs()
    if jobs and any(j in live for j in jobs.values()):
        print(f"re-attaching to Slurm jobs {' '.join(jobs.values())} (listed in {work / slurm_jobs.JOBS_FILE})",
              file=sys.stderr)
        slurm_jobs.release(work)  # a run killed between recording and releasing them left them held
    elif any(incomplete(work, stage) for stage in stages):
        abandoned = slurm_jobs.abandoned_jobs(work.parent)
        if abandoned:  # held since a run was killed before releasing them: none of their tasks started
            print(f"cancelling Slurm jobs {' '.join(abandoned)}, submitted held by a run killed before it "
                  "released them", file=sys.stderr)
            slurm_jobs.cancel(abandoned)
        jobs = _submit(stages, cfg, work)
        slurm_jobs.record_jobs(work, jobs)
        slurm_jobs.release(work)
        print(f"submitted Slurm jobs {' '.join(j for j in jobs.values() if j != '-1')}; Ctrl-C leaves them running, "
              "and the same command re-attaches", file=sys.stderr)
    with _StageProgress(stages, work) as progress:
        while True:
            progress.update()
            if not any(incomplete(work, stage) for stage in stages):
                return
            live = _live_jobs()
            for stage in stages:
                job = jobs.get(stage.name, "-1")
                if incomplete(work, stage) and job not in live:
                    # the stage's jobs are gone with tasks missing: it failed; its dependants can never start
                    waiting = [j for j in jobs.values() if j in live]
                    if waiting:
                        subprocess.run(["scancel", *waiting], capture_output=True)
                    _check(work, stage, lambda r: _slurm_log(work, stage, job, r))
            time.sleep(POLL_SECONDS)


# ── progress ────────────────────────────────────────────────────────────────────────────────────────────

class _StageProgress:
    """One line per stage, tasks done of total, read from the completion markers (shared filesystem)."""

    def __init__(self, stages: list[Stage], work: Path):
        self.stages, self.work, self.bars = stages, work, []
        self.enabled = os.environ.get("REDRAFT_PROGRESS", "1") != "0"
        self._thread = None

    def __enter__(self):
        if self.enabled:
            from tqdm import tqdm

            self.bars = [tqdm(total=s.tasks, desc=f"stage {i + 1}/{len(self.stages)} {s.name}", unit="task",
                              position=i, leave=True, dynamic_ncols=True) for i, s in enumerate(self.stages)]
            import threading

            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(1.0):
            self.update()

    def update(self):
        for bar, stage in zip(self.bars, self.stages):
            done = stage.tasks - len(incomplete(self.work, stage))
            if done != bar.n:
                bar.n = done
                bar.refresh()

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.update()
            for bar in self.bars:
                bar.close()
