"""The live clusters from .ci/clusters.sh run this checkout's code: the environment facts the executors rely on."""

import os

from clusters import srun

import redraft


def test_a_slurm_step_imports_this_checkout(slurm_cluster):
    # sbatch/srun export the submitting environment (PATH, VIRTUAL_ENV, PYTHONPATH) to the job
    step = srun(["python", "-c", "import os, redraft; print(redraft.__file__, os.environ['SLURM_JOB_ID'])"],
                extra=(f"--partition={slurm_cluster.partition}",))
    assert step.returncode == 0, step.stderr
    path, job_id = step.stdout.split()
    assert path == redraft.__file__ and job_id.isdigit()


def test_ray_workers_import_this_checkout(ray_address):
    import ray

    # workers inherit the environment of `ray start`, not the driver's: PYTHONPATH travels in the runtime_env
    ray.init(address=ray_address, runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}},
             log_to_driver=False)
    try:
        @ray.remote(num_cpus=1)
        def where() -> tuple[str, str]:
            import redraft as r

            return r.__file__, ray.get_runtime_context().get_node_id()

        path, node = ray.get(where.remote(), timeout=120)
        assert path == redraft.__file__ and node
    finally:
        ray.shutdown()
