#!/usr/bin/env bash
# netc bench on a GPU machine, end to end, in one run: sets up onnxruntime-gpu and netc
# from files (the machine has no network), then measures and writes everything under
# --out. docs/benchmarks.md ("GPU") says how its figures were made; the steps:
#
#   env      nvidia-smi, onnxruntime's providers and build
#   peak     dense fp16 and fp32 MatMul peak through onnxruntime (benchmarks/gpu_peak.py)
#   bench    netc bench examples/resnet50.yaml --provider cuda at float16 and float32,
#            --include-transfers (device-bound runs, then copies timed apart) and --cuda-graph,
#            each with --peak-tflops set to the peak measured above
#   trt      --provider tensorrt --trt-fp16, or the one line netc prints when TensorRT is absent
#   profile  --profile of float16 batch 256, summarised per operator by gpu_report.py
#   nhwc     float16 with --provider-option prefer_nhwc=1, and with --cuda-graph (nhwc-graph)
#   fused    float16 with prefer_nhwc=1 and fuse_conv_bias=1, and with --cuda-graph (fused-graph)
#   kernels  benchmarks/gpu_kernels.py: GPU kernel time by kind (CUPTI through torch.profiler), float16
#            batch 256 with default options (and PyTorch's own ResNet-50 as a yardstick), and with
#            prefer_nhwc=1 fuse_conv_bias=1 (kernels-tuned)
#   overhead benchmarks/bench_overhead.py --provider cuda: netc's loop against a bare IOBinding loop
#   report   benchmarks/gpu_report.py: gpu-report.md and gpu-results.json; the raw files in gpu-raw.tar.gz
#
# Every step runs under a timeout drawn from one budget (--budget seconds); a failing step
# is logged with its exit status and the next one runs.
set -u

usage() {
    cat <<'EOF'
usage: benchmarks/gpu_check.sh [--parts DIR] [--wheels DIR] [--out DIR] [--site DIR]
                               [--batches LIST] [--duration S] [--budget S] [--only STEPS] [--dry-run]

  --parts DIR     onnxruntime-gpu to install: DIR/*.whl, or the parts of a tar.xz of its
                  site-packages files, DIR/ort-gpu.tar.xz.part-* (joined in name order);
                  leave out when onnxruntime-gpu is already importable
  --wheels DIR    wheels of netc's own dependencies the machine lacks (installed --no-deps)
  --out DIR       where the results go (default: $OUT, else ./gpu-out)
  --site DIR      where onnxruntime-gpu and netc are installed (default /tmp/netc-gpu-site)
  --batches LIST  batch sizes of the sweeps (default 1,8,64,256)
  --duration S    seconds of timed runs per batch size (default 2)
  --budget S      seconds for the whole run; later steps are skipped past it (default 480)
  --only STEPS    run only these steps (comma-separated names from the list --dry-run prints)
  --dry-run       print the steps and exit
EOF
}

die() { echo "gpu_check: $*" >&2; exit 2; }

PARTS="" WHEELS="" OUTDIR="${OUT:-./gpu-out}" SITE=/tmp/netc-gpu-site
BATCHES=1,8,64,256 DURATION=2 BUDGET=480 DRY=0 ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --parts|--wheels|--out|--site|--batches|--duration|--budget|--only)
            [ $# -ge 2 ] || die "$1 needs a value"
            case "$1" in
                --parts) PARTS=$2 ;; --wheels) WHEELS=$2 ;; --out) OUTDIR=$2 ;; --site) SITE=$2 ;;
                --batches) BATCHES=$2 ;; --duration) DURATION=$2 ;; --budget) BUDGET=$2 ;; --only) ONLY=$2 ;;
            esac
            shift 2 ;;
        --dry-run) DRY=1; shift ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$BATCHES" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--batches: expected sizes like 1,8,64 (got '$BATCHES')"
[[ "$DURATION" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--duration: expected seconds (got '$DURATION')"
[[ "$BUDGET" =~ ^[1-9][0-9]*$ ]] || die "--budget: expected whole seconds (got '$BUDGET')"
if [ -n "$PARTS" ]; then
    [ -d "$PARTS" ] || die "--parts: no such folder: $PARTS"
    compgen -G "$PARTS/*.whl" >/dev/null || compgen -G "$PARTS/ort-gpu.tar.xz.part-*" >/dev/null ||
        die "--parts: $PARTS holds neither *.whl nor ort-gpu.tar.xz.part-*"
fi
[ -z "$WHEELS" ] || [ -d "$WHEELS" ] || die "--wheels: no such folder: $WHEELS"
cd "$(dirname "$0")/.." || die "cannot enter the repository"
[ -f examples/resnet50.yaml ] || die "run from a netc checkout (examples/resnet50.yaml not found)"

PY=${PYTHON:-python3}
RESNET=examples/resnet50.yaml
COMMON=(--batch "$BATCHES" --duration "$DURATION" --format json)
STEPS=(env peak fp16 fp32 fp16-graph fp32-graph nhwc nhwc-graph fused fused-graph trt profile kernels
       kernels-tuned overhead)
for name in ${ONLY//,/ }; do
    [[ " ${STEPS[*]} " == *" $name "* ]] || die "--only: unknown step '$name' (steps: ${STEPS[*]})"
done
if [ "$DRY" = 1 ]; then
    echo "setup: ${PARTS:-(onnxruntime-gpu already installed)} -> $SITE; wheels: ${WHEELS:-none}"
    echo "steps: ${STEPS[*]} report; batches $BATCHES, $DURATION s each, budget $BUDGET s; out: $OUTDIR"
    exit 0
fi

mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
RAW=/tmp/netc-gpu-check/raw      # kept between runs: --only reruns some steps and reports them all
[ -n "$ONLY" ] || rm -rf "$RAW"
mkdir -p "$RAW" || die "cannot create $RAW"
LOG="$OUTDIR/gpu-check.log"
: > "$LOG"
log() { echo "[$(date -u +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$LOG" >&2; }
RESERVE=25     # seconds kept for the report at the end

# step NAME MAX_SECONDS COMMAND...: run under min(MAX, budget left), stdout to $RAW/NAME.out,
# stderr to $RAW/NAME.err and the log
step() {
    local name=$1 max=$2; shift 2
    if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then return; fi
    local left=$((BUDGET - SECONDS - RESERVE))
    if [ "$left" -lt 10 ]; then log "$name: skipped (budget spent)"; echo skipped > "$RAW/$name.skipped"; return; fi
    [ "$max" -lt "$left" ] && left=$max
    log "$name: $* (timeout ${left}s)"
    timeout -k 5 "$left" "$@" > "$RAW/$name.out" 2> "$RAW/$name.err"
    local rc=$?
    echo "$rc" > "$RAW/$name.rc"
    tail -n 3 "$RAW/$name.err" | sed "s/^/    /" | tee -a "$LOG" >&2
    log "$name: exit $rc"
}

# ---------------------------------------------------------------- setup
log "setup: site $SITE"
mkdir -p "$SITE"
if [ -n "$PARTS" ] && [ ! -d "$SITE/onnxruntime/capi" ]; then
    if compgen -G "$PARTS/*.whl" >/dev/null; then
        $PY -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$PARTS"/*.whl 2>&1 | tee -a "$LOG"
    else
        if command -v xz >/dev/null; then
            cat "$PARTS"/ort-gpu.tar.xz.part-* | xz -d -T0 | tar -x -C "$SITE"
        else
            cat "$PARTS"/ort-gpu.tar.xz.part-* |
                $PY -c 'import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz").extractall(sys.argv[1])' "$SITE"
        fi || die "cannot unpack the onnxruntime-gpu parts"
    fi
fi
if [ -n "$WHEELS" ] && compgen -G "$WHEELS/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl 2>&1 | tee -a "$LOG"
fi
$PY -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$SITE" . 2>&1 |
    tail -n 3 | tee -a "$LOG"
export PYTHONPATH="$SITE"
[ -d "$SITE/netc" ] || { log "netc did not install; running it from the checkout"; export PYTHONPATH="$SITE:$PWD"; }
# CUDA, cuBLAS and cuDNN from the nvidia-* wheels beside the machine's Python, for onnxruntime's CUDA provider
NV_LIBS=$($PY - <<'EOF'
import glob, os, site, sys
roots = [p for p in (*site.getsitepackages(), *sys.path) if os.path.isdir(os.path.join(p, "nvidia"))]
dirs = sorted({os.path.dirname(f) for r in roots for f in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)})
print(":".join(dirs))
EOF
)
export LD_LIBRARY_PATH="${NV_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log "setup done: $(echo "$NV_LIBS" | tr ':' '\n' | grep -c . ) nvidia library folders"

# ---------------------------------------------------------------- env
nvidia-smi > "$RAW/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit \
    --format=csv >> "$RAW/nvidia-smi.txt" 2>&1
step env 60 $PY -c '
import json, onnxruntime as ort
ort.preload_dlls()
from onnxruntime.capi import build_and_package_info as b
print(json.dumps({"onnxruntime": ort.__version__, "file": ort.__file__, "package": b.package_name,
                  "cuda_version": getattr(b, "cuda_version", None), "device": ort.get_device(),
                  "providers": ort.get_available_providers()}))'
tee -a "$LOG" < "$RAW/env.out"

# ---------------------------------------------------------------- peak
step peak 120 $PY benchmarks/gpu_peak.py --provider cuda --json "$RAW/peak-figures.json"
peak() { $PY -c "import json,sys; print(next(r['peak_tflops'] for r in json.load(open(sys.argv[1])) if r['dtype'] == sys.argv[2]))" \
          "$RAW/peak-figures.json" "$1" 2>/dev/null; }
P16=$(peak float16) P32=$(peak float32)
log "measured peak: float16 ${P16:-?} TFLOP/s, float32 ${P32:-?} TFLOP/s"
with_peak() { [ -n "$1" ] && echo "--peak-tflops $1"; }

# ---------------------------------------------------------------- netc bench
NETC=($PY -m netc bench "$RESNET" --provider cuda)
step fp16 150 "${NETC[@]}" "${COMMON[@]}" --dtype float16 --include-transfers $(with_peak "$P16")
step fp32 150 "${NETC[@]}" "${COMMON[@]}" --dtype float32 --include-transfers $(with_peak "$P32")
step fp16-graph 150 "${NETC[@]}" "${COMMON[@]}" --dtype float16 --cuda-graph $(with_peak "$P16")
step fp32-graph 150 "${NETC[@]}" "${COMMON[@]}" --dtype float32 --cuda-graph $(with_peak "$P32")
step nhwc 150 "${NETC[@]}" "${COMMON[@]}" --dtype float16 --provider-option prefer_nhwc=1 $(with_peak "$P16")
step nhwc-graph 150 "${NETC[@]}" "${COMMON[@]}" --dtype float16 --provider-option prefer_nhwc=1 --cuda-graph \
    $(with_peak "$P16")
FUSED=(--provider-option prefer_nhwc=1 --provider-option fuse_conv_bias=1)
step fused 150 "${NETC[@]}" "${COMMON[@]}" --dtype float16 "${FUSED[@]}" $(with_peak "$P16")
step fused-graph 150 "${NETC[@]}" "${COMMON[@]}" --dtype float16 "${FUSED[@]}" --cuda-graph $(with_peak "$P16")
step trt 150 $PY -m netc bench "$RESNET" --provider tensorrt --trt-fp16 --dtype float16 "${COMMON[@]}" \
    $(with_peak "$P16")
step profile 120 "${NETC[@]}" --batch 256 --runs 20 --dtype float16 --format json \
    --profile "$RAW/ort-profile-fp16-b256.json" $(with_peak "$P16")
step kernels 120 $PY benchmarks/gpu_kernels.py --dtype float16 --batch 256 --torch --json "$RAW/kernels-figures.json"
step kernels-tuned 120 $PY benchmarks/gpu_kernels.py --dtype float16 --batch 256 "${FUSED[@]}" \
    --json "$RAW/kernels-tuned-figures.json"
step overhead 120 $PY benchmarks/bench_overhead.py --provider cuda --dtype float16 --batch 64 \
    --rounds 10 --runs 5 --json "$RAW/overhead-figures.json"

# ---------------------------------------------------------------- report
log "report"
$PY benchmarks/gpu_report.py "$RAW" --markdown "$OUTDIR/gpu-report.md" --json "$OUTDIR/gpu-results.json" \
    2>&1 | tee -a "$LOG"
tar -czf "$OUTDIR/gpu-raw.tar.gz" -C "$(dirname "$RAW")" raw
log "done in ${SECONDS}s: $(ls "$OUTDIR" | tr '\n' ' ')"
