#!/usr/bin/env bash
# The GPU checks, as one short script for a lent CUDA machine (each part under its own time limit,
# so one that overruns leaves the others' results):
#
#   SIREN2_DATA=/path/to/data bash benchmarks/gpu.sh OUT_DIR [PARTS]
#
# PARTS (comma-separated, default all): tests (the test suite, fits on the GPU by auto-detection;
# each test's outcome in logs/tests.log as it finishes), step (step_time.py), ttq (time_to_quality.py,
# the full-scale clip), throughput (throughput.py, batched fits), paper (paper.py audio at the paper's
# full protocol: siren, siren2, finer++ on every clip, seeds 0 and 1, resuming from the committed
# records, so that each lent GPU adds fits). The parts' limits add up to about 9 minutes, inside a
# 15-minute lease. Results (each table's .md, its .jsonl records and figures) go to
# benchmarks/results/cuda/ (step_time: benchmarks/results/step_time_cuda.*), and a copy of them, with
# every part's log, to OUT_DIR/gpu_results.tar.gz.
set -u
out=${1:?usage: gpu.sh OUT_DIR [PARTS]}
parts=${2:-tests,step,ttq,throughput,paper}
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$out" benchmarks/results/cuda
logs=$PWD/benchmarks/results/cuda/logs
mkdir -p $logs
nvidia-smi -L > $logs/machine.txt 2>&1
python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name())" \
    >> $logs/machine.txt 2>&1
cat $logs/machine.txt

part() {  # part NAME LIMIT_S COMMAND...: run COMMAND under LIMIT_S seconds, log to $logs/NAME.log
    local name=$1 limit=$2
    shift 2
    case ",$parts," in *",$name,"*) ;; *) return ;; esac
    local start=$SECONDS
    timeout -s TERM "$limit" "$@" > $logs/$name.log 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s (limit $limit s)" | tee -a $logs/parts.txt
    tail -n 5 $logs/$name.log
}

part tests 150 python3 -m pytest -v -n 12 -p no:cacheprovider -p no:benchmark tests
(cd benchmarks && part step 90 python3 step_time.py --device cuda --steps 20 --warmup 3)
(cd benchmarks && part ttq 40 python3 time_to_quality.py --suites full --device cuda --results results/cuda)
(cd benchmarks && part throughput 50 python3 throughput.py --groups 8,64 --repeats 1 --fit-many-batch 0 \
    --device cuda --results results/cuda)
(cd benchmarks && part paper 220 python3 paper.py audio --scale full --seeds 0,1 --models siren,siren2,finer++ \
    --device cuda --resume --no-estimate --results results/cuda)
tar czf "$out/gpu_results.tar.gz" -C benchmarks/results cuda $(cd benchmarks/results && ls step_time_cuda.* 2>/dev/null)
