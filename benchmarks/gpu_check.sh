#!/usr/bin/env bash
# The GPU check: the trainer's bf16 / FlexAttention / FSDP2 / torch.compile path and the eval suites' in-process
# model on CUDA, each against the CPU (tests/test_gpu.py), then the MFU of a ~1B model (train_throughput.py --gpu).
# Prepared so that one device call runs all of it:
#
#   bash benchmarks/gpu_check.sh           on a CUDA machine (about 8 minutes on an H200, compilation included)
#   bash benchmarks/gpu_check.sh --cpu     the same code on the CPU with tiny shapes: checks the script itself
#   bash benchmarks/gpu_check.sh --wheels  here, with network: .whl/, the packages the H200 image lacks
#
# On the device: `bash benchmarks/gpu_check.sh` with carry [".whl"] and timeout_s 600 (the tests stop at 280 s, the
# MFU runs at 270 s, each still reporting what it finished). Nothing is fetched there: redraft is imported
# from this working tree (through a folder of links on PYTHONPATH when it is not installed; nothing is installed),
# the wheels in .whl/ whose package is missing go to a temporary folder on PYTHONPATH, and models and tokenizer are
# built in code with random weights. Everything is written to $OUT when set (the device tool brings it back), else
# to out/gpu_check/: gpu_check.log, pytest.xml, throughput.json, profile.txt (MFU below 45%), gpu_check.json, whose
# one line is also the last line printed. The eval command-line test skips there (no polars, see WHEELS); the part of
# `redraft eval` that runs on CUDA, evals/local_model.py, is checked directly.
set -uo pipefail

MODE=gpu
case "${1:-}" in
  --cpu) MODE=cpu ;;
  --wheels) MODE=wheels ;;
  "") ;;
  *) echo "usage: bash benchmarks/gpu_check.sh [--cpu | --wheels]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
# what the check imports that the nvidia-h200 image lacks (.library/device/KINDS.md); polars (the eval command
# line's filters) is left out: its 54 MB wheel does not fit in the 64 MiB that travel, so that one test skips there
WHEELS=(pydantic pydantic_core annotated-types typing-inspection datasets dill multiprocess datatrove loguru)

wheels() {
  local pins=() name version
  for name in "${WHEELS[@]}"; do  # the versions this checkout is tested with
    version=$($PY -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null) \
      && pins+=("$name==$version") || pins+=("$name")
  done
  mkdir -p .whl
  local exclude
  exclude=$(git rev-parse --git-path info/exclude)
  grep -qx '/.whl/' "$exclude" 2>/dev/null || echo /.whl/ >>"$exclude"
  $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${pins[@]}" || return 1
  ls .whl && du -sh .whl
  echo "now: device run, command 'bash benchmarks/gpu_check.sh', carry [\".whl\"], timeout_s 600"
}

say() { echo "[gpu_check] $*"; }

environment() {
  $PY - "$MODE" <<'EOF'
import importlib.metadata as md
import platform
import sys

import torch

print(f"[gpu_check] python {platform.python_version()} ({sys.executable}), torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, cuda available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"[gpu_check] device: {torch.cuda.get_device_name()}, {p.total_memory / 2**30:.0f} GiB, "
          f"{p.multi_processor_count} SMs, capability {p.major}.{p.minor}")
for name in ("transformers", "tokenizers", "triton", "numpy", "pyarrow", "huggingface_hub", "fsspec", "pytest"):
    try:
        print(f"[gpu_check]   {name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"[gpu_check]   {name}: not installed")
if sys.argv[1] == "gpu" and not torch.cuda.is_available():
    sys.exit("[gpu_check] no CUDA device: run with --cpu to check the script on the CPU")
EOF
}

install_carried_wheels() {
  [[ -d .whl ]] || { say "no .whl/ folder: nothing to install"; return 0; }
  local todo=() w name
  for w in .whl/*.whl; do
    name=$(basename "$w" | cut -d- -f1)
    $PY -c "import importlib.metadata as m; m.version('$name')" 2>/dev/null || todo+=("$w")
  done
  [[ ${#todo[@]} -gt 0 ]] || { say "every package in .whl/ is installed already"; return 0; }
  local site="$WORK/site"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "${todo[@]}" || return 1
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  say "installed from .whl/ into $site (on PYTHONPATH): $(for w in "${todo[@]}"; do basename "$w" | cut -d- -f1-2; done | tr '\n' ' ')"
}

import_redraft() {
  if $PY -c "import redraft.trainer, sys; from pathlib import Path; sys.exit(Path(redraft.trainer.__file__).parent != Path('trainer').resolve())" 2>/dev/null; then
    say "redraft: importable from this working tree already (an editable install)"
  else
    # pyproject.toml's package-dir (redraft.trainer = trainer/, ...) rebuilt from links, on PYTHONPATH; and
    # PYTHONSAFEPATH, or every `python -m` started here (pytest, torchrun) would import ./redraft without its parts
    local src="$WORK/src"
    $PY - "$src" <<'EOF'
import sys
import tomllib
from pathlib import Path

root, src = Path.cwd(), Path(sys.argv[1])
package_dir = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
(src / "redraft").mkdir(parents=True)
for entry in (root / package_dir["redraft"]).iterdir():
    (src / "redraft" / entry.name).symlink_to(entry)
for name, folder in package_dir.items():
    if name != "redraft":
        (src / name.replace(".", "/")).symlink_to(root / folder)
EOF
    export PYTHONPATH="$src${PYTHONPATH:+:$PYTHONPATH}" PYTHONSAFEPATH=1
    say "redraft: imported from this working tree through $src (links after pyproject.toml's package-dir, PYTHONSAFEPATH=1; nothing installed)"
  fi
  local missing
  missing=$($PY -c "
import importlib.util
mods = ['pydantic', 'datasets', 'datatrove', 'yaml', 'pyarrow', 'transformers', 'tokenizers', 'psutil', 'pytest',
        'polars', 'openai']
print(' '.join(m for m in mods if importlib.util.find_spec(m) is None))")
  [[ -z "$missing" ]] || say "not importable here: $missing (polars, openai: only the eval command-line test needs them; the others: bash benchmarks/gpu_check.sh --wheels, then carry .whl)"
  $PY -c "import redraft.trainer.main, redraft.evals.local_model" || { say "FAILED: redraft does not import"; return 1; }
}

run_tests() {
  local limit=$1
  say "correctness: pytest -m gpu tests/test_gpu.py (limit ${limit}s)"
  # SIGINT at the limit: pytest stops where it is and still writes its report
  timeout -s INT -k 30 "$limit" $PY -m pytest tests/test_gpu.py -m gpu -v -p no:cacheprovider --basetemp "$WORK/pytest" \
    --junitxml "$OUTDIR/pytest.xml"
  local rc=$?
  [[ $rc -eq 124 || $rc -eq 137 ]] && say "pytest ran out of its ${limit}s"
  return $rc
}

run_throughput() {
  local limit=$1 args=(--gpu --profile-out "$OUTDIR/profile.txt")
  if [[ $MODE == cpu ]]; then
    args+=(--cpu --examples 60)
  else
    args+=(--steps 10 --warmup 3 --examples 120)
  fi
  say "MFU: python benchmarks/train_throughput.py ${args[*]} (limit ${limit}s)"
  timeout -s INT -k 30 "$limit" $PY benchmarks/train_throughput.py "${args[@]}" >"$WORK/throughput.out"
  local rc=$?
  cat "$WORK/throughput.out"
  tail -n 1 "$WORK/throughput.out" >"$OUTDIR/throughput.json"
  [[ $rc -eq 124 || $rc -eq 137 ]] && say "train_throughput.py ran out of its ${limit}s"
  return $rc
}

main() {
  local start=$SECONDS
  environment || return 1
  install_carried_wheels || say "FAILED to install the carried wheels"
  import_redraft || return 1
  if [[ $MODE == cpu ]]; then
    export REDRAFT_GPU_CHECK_ON_CPU=1
    run_tests 1200; local tests_rc=$?
    run_throughput 900; local mfu_rc=$?
  else
    run_tests 280; local tests_rc=$?
    run_throughput 270; local mfu_rc=$?
  fi
  $PY benchmarks/gpu_check_report.py "$OUTDIR" --mode "$MODE" --wall-s $((SECONDS - start)) \
    --tests-rc "$tests_rc" --mfu-rc "$mfu_rc"
}

if [[ $MODE == wheels ]]; then
  wheels
  exit
fi
OUTDIR=${OUT:-$ROOT/out/gpu_check}
mkdir -p "$OUTDIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export PYTHONUNBUFFERED=1 REDRAFT_PROGRESS=0 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # nothing is fetched, on any machine
main 2>&1 | tee "$OUTDIR/gpu_check.log"
