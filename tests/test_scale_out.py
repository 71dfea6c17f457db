"""Every stage on every executor, against live clusters: `local` with 1 and 4 tasks, a Ray cluster and a Slurm
cluster give the same rows, stats and rejected reasons for a run with synthesis (a loopback teacher) and near dedupe;
the response cache is shared, so no teacher call is paid twice; a task that fails exits 1 without hanging and
publishes nothing, and a re-run after the fix resumes; Ctrl-C on Slurm leaves the jobs running and a re-run
re-attaches.

The clusters come from `.ci/clusters.sh start` (tests/clusters.py); without them these tests skip, unless
REDRAFT_CLUSTERS=1 (as in CI) makes a missing cluster a failure."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_synth_faults import KEY_VAR, SECRET, fault_server, server_stats

TESTS = Path(__file__).parent
N_BASE, N_EXACT, N_NEAR = 36, 5, 5


def _pairs() -> list[str]:
    rng = random.Random(7)
    han = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
           "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
           "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权"
           "收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连"
           "断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严")
    words = ("the of and to in is was he for it with as his on be at by had are but from or have an they "
             "which one you were her all she there would their we him been has when who will more no if out "
             "so said what up its about into than them can only other new some could time these two may then "
             "do first any my now such like our over man me even most made after also did many before must "
             "through back years where much your way well down should because each just those people how too "
             "little state good very make world still own see men work long get here between both life being "
             "under never day same another know while last might us great old year off come since against go "
             "came right used take three").split()
    lines = []
    for _ in range(N_BASE):
        zh = "".join(rng.choices(han, k=150)) + "。"  # long: the request template weighs little
        en = " ".join(rng.choices(words, k=16)).capitalize() + "."
        lines.append((zh, en))
    lines += lines[:N_EXACT]  # exact duplicates
    lines += [(zh[:-1] + "吗。", en) for zh, en in lines[10:10 + N_NEAR]]  # near duplicates
    random.Random(1).shuffle(lines)
    return [f"{zh}\t{en}" for zh, en in lines]


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "pairs.tsv"
    path.write_text("\n".join(_pairs()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def teacher():
    with fault_server("--faults", "0") as port:
        yield port


def overrides(port: int, pairs: Path, *extra: str) -> list[str]:
    return [f"source.path={pairs}", f"teacher.base_url=http://127.0.0.1:{port}/v1", "teacher.model=fault-model",
            f"teacher.api_key_env={KEY_VAR}", "teacher.max_concurrency=4", "synth.turns=1", "filters=[]",
            "dedupe={exact: true, near: true}", *extra]


KEY_ENV: dict[str, str] = {}  # how the teacher key reaches the tasks


@pytest.fixture(scope="module", autouse=True)
def key_in_a_file(tmp_path_factory):
    """The tasks read the teacher key from the file $KEY_VAR_FILE names: the way to hand it to Ray workers, which Ray
    is never given it from the command's environment (README: Scaling out); Slurm and local tasks read it too."""
    path = tmp_path_factory.mktemp("key") / "key"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    KEY_ENV.clear()
    KEY_ENV[f"{KEY_VAR}_FILE"] = str(path)


def redraft(args: list[str], env: dict | None = None, key_env: dict | None = None, **kw) -> subprocess.Popen:
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != KEY_VAR}
    env.update(KEY_ENV if key_env is None else key_env)
    env.update({"REDRAFT_PROGRESS": "0", "REDRAFT_SLURM_POLL": "0.5",
                "PYTHONPATH": os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])})
    return subprocess.Popen([sys.executable, "-m", "redraft.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def run(args: list[str], timeout: float = 300, env: dict | None = None, key_env: dict | None = None) -> tuple[int, str]:
    proc = redraft(args, env, key_env)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def snapshot(out: Path) -> dict:
    """What must not depend on the executor: rows by id with their content, the funnel, the rejected reasons."""
    rows = sorted((r for f in (out / "data").glob("*.parquet") for r in pq.read_table(f).to_pylist()),
                  key=lambda r: r["id"])
    rejected = sorted((r["id"], r["reason"]) for f in (out / "rejected").glob("*.parquet")
                      for r in pq.read_table(f, columns=["id", "reason"]).to_pylist())
    return {"rows": rows, "stats": json.loads((out / "stats.json").read_text()), "rejected": rejected}


EXECUTORS = {
    "local-1": ["executor.tasks=1"],
    "local-3": ["executor.tasks=3", "executor.workers=2"],
    "local-4": ["executor.tasks=4", "executor.workers=2"],
    "local-8": ["executor.tasks=8", "executor.workers=2"],
    "local-64": ["executor.tasks=64", "executor.workers=2"],
    "ray-4": ["executor.kind=ray", "executor.tasks=4", "executor.workers=2"],
    "slurm-4": ["executor.kind=slurm", "executor.tasks=4", "executor.workers=2"],
}
_results: dict[str, dict] = {}


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scale-out") / "out"


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_every_executor_gives_the_same_rows_stats_and_rejects(name, request, pairs_file, teacher, shared_out):
    if name.startswith("ray"):
        address = request.getfixturevalue("ray_address")
        extra = [*EXECUTORS[name], f"executor.ray.address={address}"]
    elif name.startswith("slurm"):
        request.getfixturevalue("slurm_cluster")
        extra = EXECUTORS[name]
    else:
        extra = EXECUTORS[name]
    sets = [a for o in overrides(teacher, pairs_file, *extra) for a in ("--set", o)]
    rc, log = run(["run", "bayling-zh-en", "-o", str(shared_out), *sets])
    assert rc == 0, log[-3000:]
    got = snapshot(shared_out)
    stats = got["stats"]
    assert stats["input"] == N_BASE + N_EXACT + N_NEAR
    assert stats["dropped"].get("duplicate") == N_EXACT and stats["dropped"].get("near_duplicate", 0) >= 3, stats
    served = server_stats(teacher)["served"]
    if name == "local-1":
        _results["local-1"], _results["served"] = got, served
    if "local-1" not in _results:
        pytest.skip("the local-1 reference run did not run")
    assert got == _results["local-1"]
    # one output folder, one response cache for every executor and task count: no call is paid for again
    assert served == _results["served"]
    assert max(served.values()) == 1  # duplicate pairs in one task wait for the same call


HUB_PAIRS = "test-user/pairs-zh-en"


@pytest.fixture(scope="module")
def hub_env(tmp_path_factory, pairs_file):
    """The loopback Hub (tests/hub_server.py) serving the pairs as a dataset of 3 parquet shard files; the environment
    that points `datasets` at it."""
    from hub_server import TOKEN, HubServer

    root = tmp_path_factory.mktemp("hub")
    folder = root / "dataset"
    rows = [line.split("\t") for line in pairs_file.read_text(encoding="utf-8").splitlines()]
    (folder / "data").mkdir(parents=True)
    for k in range(3):
        part = rows[len(rows) * k // 3:len(rows) * (k + 1) // 3]
        pq.write_table(pa.table({"source": [r[0] for r in part], "target": [r[1] for r in part]}),
                       folder / "data" / f"train-{k:05d}-of-00003.parquet")
    (folder / "README.md").write_text("# pairs\n")
    with HubServer(root / "hub") as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env |= {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_XET": "1", "NO_PROXY": "127.0.0.1",
                "HF_HOME": str(root / "hf"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        push = (f"from huggingface_hub import HfApi; api = HfApi(); "
                f"api.create_repo({HUB_PAIRS!r}, repo_type='dataset'); "
                f"api.upload_folder(folder_path={str(folder)!r}, repo_id={HUB_PAIRS!r}, repo_type='dataset')")
        pushed = subprocess.run([sys.executable, "-c", push], env=env, capture_output=True, text=True, timeout=120)
        assert pushed.returncode == 0, pushed.stderr
        yield env


def same_pairs_as(fmt: str, pairs: Path, folder: Path) -> list[str]:
    """Overrides that read the pairs of `pairs` (a TSV) in another format, in the same order."""
    rows = [line.split("\t") for line in pairs.read_text(encoding="utf-8").splitlines()]
    if fmt == "jsonl":
        path = folder / "pairs.jsonl"
        path.write_text("".join(json.dumps({"source": s, "target": t}, ensure_ascii=False) + "\n" for s, t in rows),
                        encoding="utf-8")
        return [f"source.path={path}", "source.format=jsonl"]
    if fmt == "text":
        (folder / "pairs.zh").write_text("".join(s + "\n" for s, _ in rows), encoding="utf-8")
        (folder / "pairs.en").write_text("".join(t + "\n" for _, t in rows), encoding="utf-8")
        return [f"source.path={folder / 'pairs.zh'}", f"source.target_path={folder / 'pairs.en'}", "source.format=text"]
    if fmt == "parquet":  # two files of several row groups
        (folder / "parquet").mkdir()
        for k, part in enumerate((rows[:31], rows[31:])):
            pq.write_table(pa.table({"source": [s for s, _ in part], "target": [t for _, t in part]}),
                           folder / "parquet" / f"{k}.parquet", row_group_size=4)
        return [f"source.path={folder / 'parquet'}", "source.format=parquet"]
    if fmt == "folder":  # many small TSV files, some of them empty
        (folder / "many").mkdir()
        for k in range(0, len(rows), 3):
            (folder / "many" / f"{k:03d}.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in rows[k:k + 3]),
                                                           encoding="utf-8")
        (folder / "many" / "000a.tsv").write_text("")
        return [f"source.path={folder / 'many'}", "source.format=tsv"]
    assert fmt == "hf"
    return [f"source.path={HUB_PAIRS}", "source.format=hf"]


@pytest.mark.parametrize("fmt, tasks", [("jsonl", 3), ("text", 8), ("parquet", 8), ("folder", 64), ("hf", 5)])
def test_every_input_format_and_task_count_gives_the_same_rows(fmt, tasks, request, tmp_path, pairs_file, teacher,
                                                               shared_out):
    """The same pairs, read from another format by a number of tasks: the rows, stats and rejects of local-1 (the
    shares put together are the input in order, so dedupe keeps the same items). Each its own output folder: the
    response cache finds answers by the item's place in the input, and another format places items elsewhere (line
    numbers, row offsets), so each pays for its calls once."""
    if "local-1" not in _results:
        pytest.skip("the local-1 reference run did not run")
    env = request.getfixturevalue("hub_env") if fmt == "hf" else None
    sets = [a for o in overrides(teacher, pairs_file, *same_pairs_as(fmt, pairs_file, tmp_path),
                                 f"executor.tasks={tasks}", "executor.workers=2") for a in ("--set", o)]
    before = server_stats(teacher)["served"]
    rc, log = run(["run", "bayling-zh-en", "-o", str(tmp_path / "out"), *sets], env=env)
    assert rc == 0, log[-3000:]
    assert snapshot(tmp_path / "out") == _results["local-1"]
    after = server_stats(teacher)["served"]
    paid = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
    # every call once; a duplicate pair whose copies fall in two tasks running at once may be paid by both
    assert set(paid) == set(_results["served"]) and sum(paid.values()) <= len(paid) + N_EXACT
    if fmt == "hf":  # 3 shard files for 5 tasks
        assert "the dataset has 3 shard file(s) for 5 tasks" in log and "2 task(s) get nothing" in log


def published_rows(out: Path) -> list[dict]:
    """The kept rows as the next command reads them: the data files in name order, each in its row order."""
    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_filter_then_near_dedupe_keeps_the_same_rows_in_order_at_any_task_count(tmp_path, shared_data):
    """Issue L item 4: `filter` publishes its rows in input order whatever the task count, so a `dedupe --near` that
    follows keeps the same rows, in the same order."""
    src = (shared_data / "wmt22" / "deen.src").read_text(encoding="utf-8").splitlines()
    ref = (shared_data / "wmt22" / "deen.ref").read_text(encoding="utf-8").splitlines()
    pairs = [(s.strip(), r.strip()) for s, r in zip(src, ref)][:900]
    rng = random.Random(3)
    for s, r in rng.sample(pairs, 150):  # near duplicates: one word more, anywhere after or before the original
        pairs.insert(rng.randrange(len(pairs) + 1), (s + " Danke.", r + " Thanks."))
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{s}\t{r}\n" for s, r in pairs), encoding="utf-8")
    kept = {}
    for tasks in (1, 8, 32):
        sets = ["--set", f"executor.tasks={tasks}", "--set", "executor.workers=2"]
        rc, log = run(["filter", str(path), "--langs", "de-en", "-o", str(tmp_path / f"filtered-{tasks}"), *sets])
        assert rc == 0, log[-3000:]
        rc, log = run(["dedupe", str(tmp_path / f"filtered-{tasks}"), "--near", "-o", str(tmp_path / f"d-{tasks}"),
                       *sets])
        assert rc == 0, log[-3000:]
        kept[tasks] = (published_rows(tmp_path / f"filtered-{tasks}"), published_rows(tmp_path / f"d-{tasks}"),
                       json.loads((tmp_path / f"d-{tasks}" / "stats.json").read_text()))
    filtered, deduped, stats = kept[1]
    assert stats["dropped"].get("near_duplicate", 0) >= 100, stats
    first = {}
    for i, (s, r) in enumerate(pairs):
        first.setdefault((s, r), i)
    places = [first[r["source_text"], r["reference_text"]] for r in filtered]
    assert places == sorted(places)  # published in input order
    assert kept[8] == kept[1] and kept[32] == kept[1]


@pytest.mark.parametrize("kind", ["local", "ray", "slurm"])
def test_a_bad_line_in_any_task_exits_2_naming_it_before_any_teacher_call(kind, request, tmp_path, pairs_file):
    """A task's share holds a bad line, past the first 200 rows the driver checks: `filter` exits 2 naming the file and
    line, nothing published; `run` stops in its check stage, before any teacher call (the teacher URL answers
    nothing: reaching it would exit 1)."""
    extra = [f"executor.kind={kind}", "executor.tasks=4", "executor.workers=2"]
    if kind == "ray":
        extra.append(f"executor.ray.address={request.getfixturevalue('ray_address')}")
    elif kind == "slurm":
        request.getfixturevalue("slurm_cluster")
    lines = pairs_file.read_text(encoding="utf-8").splitlines() * 8
    lines[330] = "没有制表符的一行"
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sets = [a for o in extra for a in ("--set", o)]
    rc, log = run(["filter", str(bad), "--langs", "zh-en", "-o", str(tmp_path / "f"), *sets], timeout=240)
    assert rc == 2 and f"{bad}:331: expected 2 tab-separated fields" in log, log[-3000:]
    assert not (tmp_path / "f" / "data").exists()
    sets = [a for o in overrides(9, bad, *extra) for a in ("--set", o)]
    rc, log = run(["run", "bayling-zh-en", "-o", str(tmp_path / "r"), *sets], timeout=240)
    assert rc == 2 and f"{bad}:331: expected 2 tab-separated fields" in log, log[-3000:]
    assert not (tmp_path / "r" / "data").exists()
    assert not list(tmp_path.glob("r/.redraft/work-*/logs-synthesize/completions/*"))


def _failing_recipe(tmp_path: Path, port: int, pairs: Path, kind: str) -> tuple[list[str], Path, Path]:
    fixed, runs = tmp_path / "fixed", tmp_path / "runs.txt"
    step = json.dumps([{"name": "failing_step:FailOnRank",
                        "params": {"rank": 1, "unless_exists": str(fixed), "runs_file": str(runs)}}])
    sets = overrides(port, pairs, f"filters={step}", f"executor.kind={kind}", "executor.tasks=4",
                     "executor.workers=2")
    return [a for o in sets for a in ("--set", o)], fixed, runs


@pytest.mark.parametrize("kind", ["local", "ray", "slurm"])
def test_a_failed_task_exits_1_publishes_nothing_and_the_rerun_resumes(kind, request, tmp_path, pairs_file,
                                                                        teacher):
    sets, fixed, runs = _failing_recipe(tmp_path, teacher, pairs_file, kind)
    if kind == "ray":
        sets += ["--set", f"executor.ray.address={request.getfixturevalue('ray_address')}"]
    elif kind == "slurm":
        request.getfixturevalue("slurm_cluster")
    out = tmp_path / "out"
    started = time.monotonic()
    rc, log = run(["run", "bayling-zh-en", "-o", str(out), *sets], timeout=240)
    assert rc == 1, log[-3000:]
    assert "rank 1" in log
    logfile = log.split("rank 1: ", 1)[1].split(")", 1)[0].split(", rank ")[0]
    assert Path(logfile).exists() and "injected failure on rank 1" in Path(logfile).read_text(), logfile
    assert not (out / "data").exists() and not (out / "stats.json").exists()  # nothing published
    assert time.monotonic() - started < 200  # it did not wait on the dependants
    if kind == "slurm":
        assert not request.getfixturevalue("slurm_jobs")(), "jobs left waiting on the failed stage"
    first_runs = runs.read_text().split()
    done_first = {p.name.lstrip("0") or "0" for p in out.glob(".redraft/work-*/logs-synthesize/completions/*")}
    # on a cluster the other tasks finish and are kept; the local executor stops the stage at the first failure
    assert done_first == ({"0", "2", "3"} if kind != "local" else done_first - {"1"})

    fixed.touch()
    rc, log = run(["run", "bayling-zh-en", "-o", str(out), *sets], timeout=240)
    assert rc == 0, log[-3000:]
    again = runs.read_text().split()[len(first_runs):]
    assert "1" in again and not done_first & set(again), again  # completed tasks did not run again
    assert json.loads((out / "stats.json").read_text())["input"] == N_BASE + N_EXACT + N_NEAR


def test_slurm_ctrl_c_leaves_the_jobs_running_and_the_rerun_reattaches(tmp_path, pairs_file, slurm_cluster,
                                                                      slurm_jobs):
    out = tmp_path / "out"
    with fault_server("--faults", "0", "--latency", "0.3") as port:
        sets = [a for o in overrides(port, pairs_file, "executor.kind=slurm", "executor.tasks=4",
                                     "executor.workers=2") for a in ("--set", o)]
        args = ["run", "bayling-zh-en", "-o", str(out), *sets]
        proc = redraft(args)
        deadline = time.monotonic() + 60
        while not list(out.glob(".redraft/work-*/slurm-jobs.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        jobs_file = next(out.glob(".redraft/work-*/slurm-jobs.json"))
        submitted = json.loads(jobs_file.read_text())
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err[-2000:]
        assert set(slurm_jobs()) & set(submitted.values()), "Ctrl-C cancelled the jobs"

        rc, log = run(args, timeout=240)
        assert rc == 0, log[-3000:]
        assert "re-attaching" in log
        assert json.loads(jobs_file.read_text()) == submitted  # nothing submitted twice
        served = server_stats(port)["served"]
    if "local-1" in _results:  # the same calls as one uninterrupted run, and the same rows
        # (a duplicate pair in another task, running at the same time, may pay for its own call)
        assert set(served) == set(_results["served"]) and sum(served.values()) <= len(served) + N_EXACT
        assert snapshot(out) == _results["local-1"]


def ray_session_dir(address: str) -> Path:
    code = f"import ray; print(ray.init(address={address!r}, log_to_driver=False).address_info['session_dir'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return Path(out.stdout.split()[-1])


def files_holding(secret: str, *folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for f in folder.rglob("*"):
            try:
                if f.is_file() and not f.is_symlink() and secret.encode() in f.read_bytes():
                    found.append(str(f))
            except OSError:  # gone meanwhile (Ray rotates its files), or a socket
                pass
    return found


def test_ray_workers_read_the_key_from_a_file_and_ray_never_records_it(tmp_path, pairs_file, ray_address):
    key = f"sk-ray-{uuid.uuid4().hex}"  # this run's own: earlier runs may have left theirs in the session folder
    key_file = tmp_path / "key"
    key_file.write_text(key)
    key_file.chmod(0o600)
    sets = ["--set", "executor.kind=ray", "--set", f"executor.ray.address={ray_address}", "--set", "executor.tasks=2",
            "--set", "dedupe=false", "--set", "source.limit=8"]
    with fault_server("--faults", "0", key=key) as port:
        # in this shell only: refused before any task starts, naming where the key goes instead
        rc, log = run(["run", "bayling-zh-en", "-o", str(tmp_path / "refused"),
                       *[a for o in overrides(port, pairs_file) for a in ("--set", o)], *sets],
                      key_env={KEY_VAR: key})
        assert rc == 2, log[-3000:]
        assert "ray start" in log and f"{KEY_VAR}_FILE" in log and key not in log
        assert served(port) == 0
        # in a file only its owner reads, named by $KEY_VAR_FILE: the workers read it there
        out = tmp_path / "out"
        rc, log = run(["run", "bayling-zh-en", "-o", str(out),
                       *[a for o in overrides(port, pairs_file) for a in ("--set", o)], *sets],
                      key_env={f"{KEY_VAR}_FILE": str(key_file)})
        assert rc == 0, log[-3000:]
        assert json.loads((out / "stats.json").read_text())["kept"] == 8
    assert key not in log
    assert not files_holding(key, ray_session_dir(ray_address), out, tmp_path / "refused")


def served(port: int) -> int:
    return sum(server_stats(port)["served"].values())
