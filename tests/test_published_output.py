"""What an output folder publishes: `output.formats` beside data/, and no absolute path of the machine that ran it
(recipe.yaml, the dataset card, stats, exports), against the fault server on loopback so that it runs in seconds."""

import json

import datasets
import yaml

from redraft.cli import main
from redraft.readers import ItemReader
from redraft.recipes.runner import run_recipe
from redraft.types import document_to_row
from test_synth_faults import KEY_VAR, SECRET, fault_server

RECIPE = """\
name: paths-test
source:
  path: pairs.tsv               # beside the recipe
  src_lang: de
  tgt_lang: en
teacher:
  base_url: http://127.0.0.1:1/v1
  model: fault-model
  api_key_env: {key_var}
  timeout: 5
synth:
  turns: 2
filters: []
dedupe: false
output:
  path: out/paths-test
  formats: [sharegpt, alpaca]
"""
PAIRS = [("Das Haus ist alt.", "The house is old."), ("Ich trinke gern Kaffee.", "I like drinking coffee."),
         ("Der Zug kommt spät an.", "The train arrives late.")]


def published_files(out):
    return [f for f in out.rglob("*") if f.is_file() and ".redraft" not in f.relative_to(out).parts]


def assert_no_machine_path(out, tmp_path):
    files = published_files(out)
    assert {"recipe.yaml", "README.md", "stats.json"} <= {f.name for f in files}
    for f in files:
        data = f.read_bytes()
        assert str(tmp_path).encode() not in data and b"/tmp/" not in data, f"{f} holds a local absolute path"


def rows(path):
    return [document_to_row(d) for d in ItemReader(str(path)).read()]


def test_run_publishes_formats_and_no_absolute_paths(tmp_path, monkeypatch):
    recipe_dir = tmp_path / "recipes"
    recipe_dir.mkdir()
    (recipe_dir / "pairs.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS), encoding="utf-8")
    recipe = recipe_dir / "paths.yaml"
    recipe.write_text(RECIPE.format(key_var=KEY_VAR))
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the source is found beside the recipe, not in the working directory
    monkeypatch.setenv(KEY_VAR, SECRET)
    with fault_server() as port:
        url = f"teacher.base_url=http://127.0.0.1:{port}/v1"
        out = run_recipe(str(recipe), [url])
        # absolute paths on the command line, outside the working directory
        out_abs = run_recipe(str(recipe), [url, f"source.path={recipe_dir / 'pairs.tsv'}"],
                             output=str(tmp_path / "abs-out"))

    for folder in (out, out_abs):
        assert_no_machine_path(folder, tmp_path)
    assert out.resolve() == elsewhere / "out" / "paths-test"
    recorded = yaml.safe_load((out / "recipe.yaml").read_text())
    assert recorded["source"]["path"] == "pairs.tsv" and recorded["output"]["path"] == "out/paths-test"
    recorded = yaml.safe_load((out_abs / "recipe.yaml").read_text())
    assert recorded["source"]["path"] == "pairs.tsv" and recorded["output"]["path"] == "abs-out"

    kept = rows(out / "data")
    assert len(kept) == len(PAIRS) and all(len(r["messages"]) == 4 for r in kept)
    for fmt in ("sharegpt", "alpaca"):
        assert rows(out / fmt / "train.json") == kept
        assert list(json.loads((out / fmt / "dataset_info.json").read_text())) == ["paths-test"]
    assert not (out / "messages").exists()
    # the card's configs keep load_dataset on data/, whatever else lies beside it
    assert sorted(datasets.load_dataset(str(out), split="train")["id"]) == sorted(r["id"] for r in kept)

    # a re-run without the formats takes the earlier exports away with the rest of the old output
    with fault_server() as port:
        run_recipe(str(recipe), [f"teacher.base_url=http://127.0.0.1:{port}/v1", "output.formats=[]"])
    assert not (out / "sharegpt").exists() and (out / "data").is_dir()


def test_curation_records_the_input_path_without_the_machine_layout(tmp_path, monkeypatch):
    src = tmp_path / "inputs" / "chat.json"
    src.parent.mkdir()
    src.write_text(json.dumps([{"id": f"c{i}", "conversations": [{"from": "human", "value": f"Übersetze: {s}"},
                                                                 {"from": "gpt", "value": t}]}
                               for i, (s, t) in enumerate(PAIRS)], ensure_ascii=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "inputs")
    assert main(["dedupe", "chat.json", "-o", "deduped"]) == 0  # relative, as given
    assert yaml.safe_load((tmp_path / "inputs" / "deduped" / "recipe.yaml").read_text())["input"] == "chat.json"
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"  # absolute paths below the working directory
    assert main(["dedupe", str(src), "-o", str(out), "--chat-format", "sharegpt"]) == 0
    assert_no_machine_path(out, tmp_path)
    record = yaml.safe_load((out / "recipe.yaml").read_text())
    assert record["input"] == "inputs/chat.json" and record["read"] == {"chat_format": "sharegpt"}
    assert json.loads((out / "stats.json").read_text())["kept"] == len(PAIRS)


def test_builtin_recipe_records_its_source_as_written():
    from redraft.recipes.runner import portable_recipe_yaml, prepare_recipe
    from redraft.recipes.schema import resolve_path

    r = prepare_recipe("demo")
    assert r.source.path.startswith("/")  # read from the installed package's folder...
    recorded = yaml.safe_load(portable_recipe_yaml(r, resolve_path("demo")))
    assert recorded["source"]["path"] == "data/demo.jsonl" and recorded["output"]["path"] == "out/demo"  # ...as written


def test_portable_path(tmp_path, monkeypatch):
    from redraft.portable_paths import portable_path, portable_record

    monkeypatch.chdir(tmp_path)
    recipe_dir = tmp_path / "recipes"
    assert portable_path(str(recipe_dir / "data" / "x.tsv"), recipe_dir) == "data/x.tsv"
    assert portable_path(str(tmp_path / "pairs" / "x.tsv"), recipe_dir) == "pairs/x.tsv"  # the working directory's
    assert portable_path("/elsewhere/corpus/x.tsv", recipe_dir) == "x.tsv"
    assert portable_path("../x.tsv") == "../x.tsv" and portable_path("org/dataset") == "org/dataset"
    record = {"filters": [{"name": "decontaminate", "params": {"paths": ["/data/wmt22/zh-en.src"]}}],
              "synth": {"system_prompt": "/no_think"}}
    assert portable_record(record) == {"filters": [{"name": "decontaminate", "params": {"paths": ["zh-en.src"]}}],
                                       "synth": {"system_prompt": "/no_think"}}
