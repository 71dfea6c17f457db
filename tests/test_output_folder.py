"""Who owns an output folder, and what a kill leaves there (redraft/output.py).

Ownership: a non-empty folder redraft did not make is refused before any work by every command that writes one;
in redraft's own folder a file of the user's is never touched; folders of earlier versions keep working.
Atomic publishing: `publish` is SIGKILLed in a subprocess after each change it makes to the filesystem in turn
(tests/kill_harness), for a dataset, an eval, an export folder and the trainer's `final/`; every kill leaves the
complete old output, the complete new one, or a journal that readers refuse and the next command completes; killed
runs of the real commands are completed by their re-run."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from redraft.cli import main
from redraft.errors import UsageError
from redraft.output import DATASET_PARTS
from redraft.recipes.runner import curate, run_recipe
from test_published_output import PAIRS, RECIPE
from test_synth_faults import KEY_VAR, SECRET, fault_server

MORE_PAIRS = [("Wir gehen morgen wandern.", "We go hiking tomorrow."),
              ("Sie liest ein spannendes Buch.", "She is reading an exciting book.")]
USER_FILE = "notes.txt"  # a file of the user's, beside redraft's parts
# as SPEC names them (spelled out here, so that these tests run, and fail, against code without them)
STATE_DIR, MANIFEST, JOURNAL = ".redraft", "manifest.json", "publish.json"
HARNESS = Path(__file__).with_name("kill_harness")


def killed_at(spec: str) -> dict[str, str]:
    """The environment that SIGKILLs a Python process at `MODULE:FUNCTION:N` (tests/kill_harness/sitecustomize.py)."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(HARNESS), os.environ.get("PYTHONPATH")])),
            "REDRAFT_TEST_KILL": spec}


def read_manifest(folder: Path) -> dict | None:
    path = folder / STATE_DIR / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def tsv(path: Path, pairs) -> Path:
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redraft.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "REDRAFT_PROGRESS": "0", **(env or {})}, timeout=600)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in `folder` but redraft's state and the user's file."""
    return {f.relative_to(folder).as_posix(): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()
            and STATE_DIR not in f.relative_to(folder).parts and f.name != USER_FILE}


def under(files: dict[str, bytes], part: str) -> dict[str, bytes]:
    return {f: b for f, b in files.items() if f == part or f.startswith(f"{part}/")}


def load_ids(folder: Path, cache: Path) -> list[str]:
    import datasets

    return sorted(datasets.load_dataset(str(folder), split="train", cache_dir=str(cache))["id"])


# ── ownership ────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def project(tmp_path) -> Path:
    """A folder of the user's: what `-o .` inside a project would hit."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "README.md").write_text("# my project\n")
    (folder / "src" / "main.py").write_text("print('hi')\n")
    return folder


def test_a_folder_redraft_did_not_make_is_refused_before_any_work(tmp_path, project, capsys, dialogue_dirs):
    before = snapshot(project)
    pairs = tsv(tmp_path / "pairs.tsv", PAIRS)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE.format(key_var=KEY_VAR).replace("pairs.tsv", str(pairs)))
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    train_cfg = tmp_path / "train.yaml"
    train_cfg.write_text(f"model: {model}\ndata: [{dialogue_dirs[0]}]\noutput_dir: {project}\nmax_steps: 2\n")
    (tmp_path / "src.txt").write_text("Das Haus ist alt.\n")
    (tmp_path / "ref.txt").write_text("The house is old.\n")
    commands = {"run": ["run", recipe, "-o", project],
                "validate": ["validate", recipe, "--set", f"output.path={project}"],
                "filter": ["filter", pairs, "--langs", "de-en", "-o", project],
                "dedupe": ["dedupe", pairs, "--langs", "de-en", "-o", project],
                "eval": ["eval", "translation", "--src", tmp_path / "src.txt", "--ref", tmp_path / "ref.txt",
                         "--langs", "de-en", "--model", tmp_path / "ref.txt", "-o", project],
                "export": ["export", dialogue_dirs[0], "--format", "sharegpt", "-o", project],
                "train": ["train", train_cfg]}
    for name, args in commands.items():
        assert main(list(map(str, args))) == 2, name
        err = capsys.readouterr().err
        assert f"{project}: the folder holds files redraft did not write (README.md, src/)" in err, (name, err)
        assert "choose another output folder, or empty this one" in err, name
        assert snapshot(project) == before and not (project / STATE_DIR).exists(), name
    assert "config field `output_dir`" in (main(["train", str(train_cfg)]), capsys.readouterr().err)[1]


def test_users_files_in_a_redraft_folder_are_never_touched(tmp_path, capsys):
    """Beside redraft's parts, and where a new part would go: the run stops, naming it, and it stays."""
    out = tmp_path / "out"
    assert main(["dedupe", str(tsv(tmp_path / "a.tsv", PAIRS)), "--langs", "de-en", "-o", str(out)]) == 0
    (out / USER_FILE).write_text("mine")
    (out / "analysis").mkdir()
    (out / "analysis" / "counts.csv").write_text("1,2\n")
    (out / "data" / "my-notes.md").write_text("about the shards")
    assert main(["dedupe", str(tsv(tmp_path / "b.tsv", PAIRS + MORE_PAIRS)), "--langs", "de-en",
                 "-o", str(out)]) == 0
    assert json.loads((out / "stats.json").read_text())["kept"] == len(PAIRS + MORE_PAIRS)
    assert (out / USER_FILE).read_text() == "mine" and (out / "analysis" / "counts.csv").read_text() == "1,2\n"
    assert (out / "data" / "my-notes.md").read_text() == "about the shards"
    assert len(list((out / "data").glob("*.parquet"))) == 1  # the earlier run's shard is gone, not the notes
    manifest = read_manifest(out)
    assert manifest["format"] == 1 and USER_FILE not in manifest["parts"] and "analysis" not in manifest["parts"]
    assert "data/my-notes.md" not in manifest["files"]

    # a part this publish would add, already there and not redraft's: exit 2 naming it, nothing replaced
    from redraft.output import publish

    staging = out / STATE_DIR / "staging-test"
    (staging / "sharegpt").mkdir(parents=True)
    (staging / "sharegpt" / "train.json").write_text("[]")
    (out / "sharegpt").mkdir()
    (out / "sharegpt" / "train.json").write_text("my own export")
    with pytest.raises(UsageError, match=f"{out / 'sharegpt'}: redraft did not write it"):
        publish(staging, out, DATASET_PARTS)
    assert (out / "sharegpt" / "train.json").read_text() == "my own export"
    assert not (out / STATE_DIR / JOURNAL).exists()


def test_output_folders_of_earlier_versions_keep_working(tmp_path):
    """`.redraft/` without a manifest (work folders, a cache): redraft's; the next publish writes the manifest."""
    out = tmp_path / "out"
    curate(str(tsv(tmp_path / "a.tsv", PAIRS)), str(out), langs="de-en")
    (out / STATE_DIR / MANIFEST).unlink()  # as an earlier version left it
    old_shards = sorted((out / "data").iterdir())
    (out / USER_FILE).write_text("mine")
    assert main(["filter", str(tsv(tmp_path / "b.tsv", PAIRS + MORE_PAIRS)), "--langs", "de-en",
                 "-o", str(out)]) == 0
    manifest = read_manifest(out)
    assert manifest["parts"] == ["README.md", "data", "plots", "recipe.yaml", "rejected", "stats.json"]
    assert not any(f.exists() for f in old_shards) and (out / USER_FILE).read_text() == "mine"
    assert sorted(manifest["files"]) == sorted(snapshot(out))


# ── atomic publishing: every step killed ─────────────────────────────────────────────────────────────────────

PUBLISH = "import sys; from pathlib import Path; from redraft.output import publish; " \
          "publish(Path(sys.argv[1]), Path(sys.argv[2]), tuple(sys.argv[3:]))"
FINISH = "import sys; from pathlib import Path; from redraft.output import finish_publish; " \
         "finish_publish(Path(sys.argv[1]))"


def python(code: str, *args, kill_at: str) -> int:
    env = {**os.environ, **killed_at(kill_at)}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, timeout=300).returncode


def copy_output(src: Path, dst: Path) -> Path:
    """`src`'s published files and manifest (not its work folders), with a user's file beside them."""
    for f in snapshot(src):
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / f, dst / f)
    for part in src.iterdir():  # an empty part folder (rejected/ with nothing dropped)
        if part.is_dir() and part.name != STATE_DIR:
            (dst / part.name).mkdir(parents=True, exist_ok=True)
    (dst / STATE_DIR).mkdir(parents=True)
    if read_manifest(src):
        shutil.copy2(src / STATE_DIR / MANIFEST, dst / STATE_DIR / MANIFEST)
    (dst / USER_FILE).write_text("mine")
    return dst


def kill_at_every_step(old: Path, new: Path, parts: tuple[str, ...], tmp_path: Path, check=None) -> int:
    """Publish `new`'s parts over a copy of `old`, killed after its Kth change to the filesystem, for K = 1, 2, ...
    until a publish runs through. After each kill: the user's file is there; without a journal the folder is `old` or `new` exactly;
    with one, each part is the old one, the new one or (a folder mid-swap) absent, `data/` holds no other shard, and
    redraft's readers refuse the folder; `check(folder)` looks further. Then the next command's first step
    (`finish_publish`, or without a journal the publish again), the first itself killed after its first change,
    then run through, leaves `new` exactly.
    Returns the number of changes."""
    old_files, new_files = snapshot(old), snapshot(new)
    assert old_files != new_files
    for k in itertools.count(1):
        out = copy_output(old, tmp_path / f"killed-at-{k}")
        staging = out / STATE_DIR / "staging-test"
        for part in parts:
            if (new / part).is_dir():
                shutil.copytree(new / part, staging / part)
            elif (new / part).exists():
                staging.mkdir(parents=True, exist_ok=True)
                shutil.copy2(new / part, staging / part)
        rc = python(PUBLISH, staging, out, *parts, kill_at=f"redraft.output:publish:{k}")
        if rc == 0:
            assert snapshot(out) == new_files and k > 3
            return k - 1
        assert rc == -signal.SIGKILL, rc
        assert (out / USER_FILE).read_text() == "mine"
        files = snapshot(out)
        if not (out / STATE_DIR / JOURNAL).exists():
            assert files in (old_files, new_files), k
        else:
            for part in parts:
                here = under(files, part)
                if part == "data":
                    assert here.items() <= (under(old_files, part) | under(new_files, part)).items(), k
                else:
                    assert here in (under(old_files, part), under(new_files, part), {}), (k, part)
        if check:
            check(out)
        from redraft.output import check_not_publishing, finish_publish, publish

        if (out / STATE_DIR / JOURNAL).exists():
            with pytest.raises(UsageError, match="a publish into this folder is under way or was interrupted"):
                check_not_publishing(out)
            assert python(FINISH, out, kill_at="redraft.output:finish_publish:1") in (0, -signal.SIGKILL)
            finish_publish(out)
        elif files == old_files:  # killed before its journal was in place: the re-run's publish does it all
            publish(staging, out, parts)
        assert snapshot(out) == new_files and read_manifest(out) == read_manifest(new), k
        assert (out / USER_FILE).read_text() == "mine"
        assert sorted(p.name for p in (out / STATE_DIR).iterdir()) == [MANIFEST]


@pytest.fixture(scope="module")
def datasets_old_and_new(tmp_path_factory) -> tuple[Path, Path]:
    """Two `redraft run` outputs: the old one with a ShareGPT export beside its 3 dialogues, the new one with 5 and
    no export (so that its publish removes a part too)."""
    root = tmp_path_factory.mktemp("runs")
    recipe = root / "r.yaml"
    recipe.write_text(RECIPE.format(key_var=KEY_VAR).replace("formats: [sharegpt, alpaca]", "formats: [sharegpt]"))
    outs = []
    os.environ[KEY_VAR] = SECRET
    try:
        with fault_server() as port:
            for name, pairs, formats in (("old", PAIRS, "[sharegpt]"), ("new", PAIRS + MORE_PAIRS, "[]")):
                source = tsv(root / f"{name}.tsv", pairs)
                outs.append(run_recipe(str(recipe), [f"teacher.base_url=http://127.0.0.1:{port}/v1",
                                                     f"source.path={source}", f"output.formats={formats}"],
                                       output=str(root / name)))
    finally:
        del os.environ[KEY_VAR]
    return outs[0], outs[1]


def test_a_kill_at_any_step_of_a_dataset_publish(tmp_path, datasets_old_and_new):
    old, new = datasets_old_and_new
    cache = tmp_path / "hf-cache"
    ids = {name: load_ids(folder, cache) for name, folder in (("old", old), ("new", new))}
    for folder in (old, new):  # each complete output is self-consistent
        assert json.loads((folder / "stats.json").read_text())["kept"] == len(load_ids(folder, cache))
    assert (old / "sharegpt").is_dir() and not (new / "sharegpt").exists()

    def load_dataset_reads_one_whole_output(out):  # at every instant, through the card
        assert load_ids(out, cache) in (ids["old"], ids["new"])

    changes = kill_at_every_step(old, new, DATASET_PARTS, tmp_path, load_dataset_reads_one_whole_output)
    assert changes >= 10  # the journal, each part, the old shard and export removed, the manifest, the end


def test_a_killed_dedupe_is_completed_by_its_rerun(tmp_path):
    """The real command, killed part-way through its publish (its third change: the new shard beside the old one,
    which load_dataset still reads), then run again."""
    out = tmp_path / "out"
    assert cli("dedupe", tsv(tmp_path / "a.tsv", PAIRS), "--langs", "de-en", "-o", out).returncode == 0
    (out / USER_FILE).write_text("mine")
    old_ids = load_ids(out, tmp_path / "cache")
    more = tsv(tmp_path / "b.tsv", PAIRS + MORE_PAIRS)
    killed = cli("dedupe", more, "--langs", "de-en", "-o", out, env=killed_at("redraft.output:publish:3"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / STATE_DIR / JOURNAL).exists() and load_ids(out, tmp_path / "cache") == old_ids
    refused = cli("stats", out)
    assert refused.returncode == 2 and "a publish into this folder is under way or was interrupted" in refused.stderr
    rerun = cli("dedupe", more, "--langs", "de-en", "-o", out)
    assert rerun.returncode == 0, rerun.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kept"] == len(load_ids(out, tmp_path / "cache")) == len(PAIRS + MORE_PAIRS)
    assert len(list((out / "data").glob("*.parquet"))) == 1 and (out / USER_FILE).read_text() == "mine"
    assert not (out / STATE_DIR / JOURNAL).exists()


def eval_output(tmp_path: Path, name: str, hypotheses: list[str]) -> Path:
    src, ref, hyp = (tmp_path / f"{name}.{x}" for x in ("src", "ref", "hyp"))
    src.write_text("".join(s + "\n" for s, _ in PAIRS))
    ref.write_text("".join(t + "\n" for _, t in PAIRS))
    hyp.write_text("".join(h + "\n" for h in hypotheses))
    out = tmp_path / name
    args = ["eval", "translation", "--src", src, "--ref", ref, "--langs", "de-en", "--model", hyp, "-o", out]
    assert main(list(map(str, args))) == 0
    return out


def test_a_kill_at_any_step_of_an_eval_publish(tmp_path):
    from redraft.evals.runner import EVAL_PARTS

    old = eval_output(tmp_path, "old", [t for _, t in PAIRS])
    new = eval_output(tmp_path, "new", [t.upper() for _, t in PAIRS])
    assert kill_at_every_step(old, new, EVAL_PARTS, tmp_path) >= 6


def test_a_kill_at_any_step_of_an_export_folder(tmp_path, dialogue_dirs):
    old, new = tmp_path / "old", tmp_path / "new"
    assert main(["export", str(dialogue_dirs[0]), "--format", "sharegpt", "-o", str(old)]) == 0
    assert main(["export", str(dialogue_dirs[1]), "--format", "sharegpt", "-o", str(new)]) == 0
    assert kill_at_every_step(old, new, ("train.json", "dataset_info.json"), tmp_path) >= 4

    # the real command, killed part-way through its publish, then run again
    out = copy_output(old, tmp_path / "out")
    args = ["export", dialogue_dirs[1], "--format", "sharegpt", "-o", out]
    assert cli(*args, env=killed_at("redraft.output:publish:3")).returncode == -signal.SIGKILL
    assert (out / STATE_DIR / JOURNAL).exists()
    assert cli(*args).returncode == 0
    assert snapshot(out) == snapshot(new) and (out / USER_FILE).read_text() == "mine"


def test_a_kill_at_any_step_of_the_final_model_export(tmp_path, tiny_llama_dir):
    """`final/` is published whole: a kill leaves the earlier model, the new one, or none, never a mix."""
    import torch
    from transformers import AutoModelForCausalLM

    folders = {}
    for name, scale in (("old", 1.0), ("new", 2.0)):
        model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(scale)
        folders[name] = tmp_path / f"{name}-run"
        model.save_pretrained(folders[name] / "final")
        (folders[name] / "final" / "training_manifest.json").write_text(json.dumps({"run": name}))
        (folders[name] / STATE_DIR).mkdir()
        manifest = {"format": 1, "parts": ["final"], "files": sorted(snapshot(folders[name]))}
        (folders[name] / STATE_DIR / MANIFEST).write_text(json.dumps(manifest))
    assert kill_at_every_step(folders["old"], folders["new"], ("final",), tmp_path) >= 4


def test_a_killed_final_export_of_redraft_train_is_completed_by_its_rerun(tmp_path, tiny_llama_dir, dialogue_dirs):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from redraft.trainer import train
    from test_trainer_distributed import make_config

    config = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "run", max_steps=2, save_every=2)
    assert train(str(config), [], 1) == 0
    first = load_file(tmp_path / "run" / "final" / "model.safetensors")
    old_final = under(snapshot(tmp_path / "run"), "final")
    (tmp_path / "run" / USER_FILE).write_text("mine")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in killed_at("redraft.output:publish:4").items():  # the old final/ set aside, the new one not in
            mp.setenv(k, v)
        assert train(str(config), ["max_steps=4"], 1) != 0
    assert under(snapshot(tmp_path / "run"), "final") in ({}, old_final)  # never a mix
    assert (tmp_path / "run" / STATE_DIR / JOURNAL).exists()
    assert train(str(config), ["max_steps=4"], 1) == 0  # resumes at its step-4 checkpoint, re-exports
    final = tmp_path / "run" / "final"
    again = load_file(final / "model.safetensors")
    assert any(not torch.equal(first[k], again[k]) for k in first)
    assert AutoModelForCausalLM.from_pretrained(final) is not None
    assert json.loads((final / "training_manifest.json").read_text())["steps"] == 4
    assert (tmp_path / "run" / USER_FILE).read_text() == "mine"
    assert read_manifest(tmp_path / "run")["parts"] == ["final"]
