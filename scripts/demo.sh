#!/usr/bin/env bash
# `make demo`: the whole avs pipeline on the built-in defaults: a SIMULATED collection,
# a local Dask cluster, CPU (or a GPU when torch sees one). Safe to rerun: finished
# stages are kept (synth, train, index resume), runs are rescored.
set -euo pipefail

COLL=collections/sim          # simulated stand-in for V3C1 (2021 topics) and V3C2 (2022)
MODEL=models/demo
INDEX=index/demo
MODEL2=models/demo2           # a second model (other features, seed): fused with the first
INDEX2=index/demo2
SHOTS=${AVS_DEMO_SHOTS:-200000}
RUNS=runs

# Bold headers on a terminal only: a log file gets plain text, no escape codes.
if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi

step "1/10 simulated collection ($SHOTS shots, 2021 + 2022 topics) -> $COLL"
if [ -f "$COLL/collection.json" ]; then
    echo "kept existing $COLL (delete it to regenerate)"
else
    avs synth "$COLL" --topics topics/2021.txt --topics topics/2022.txt --shots "$SHOTS" --seed 7
fi

step "2/10 workspace file avs.toml"
if [ -f avs.toml ]; then
    echo "kept existing avs.toml"
else
    cat > avs.toml <<TOML
# avs workspace, written by \`make demo\` (see README). Paths are relative to this file.
# The demo uses ONE simulated collection for both V3C1 (2021) and V3C2 (2022) topics.
[workspace]
runs = "$RUNS"
k = 1000
device = "auto"
scheduler = ""          # "" starts a LocalCluster; or "tcp://host:8786"

[collections.V3C1]
features = "$COLL/shots.h5"
model = "$MODEL"
index = "$INDEX"

[collections.V3C2]
features = "$COLL/shots.h5"
model = "$MODEL"
index = "$INDEX"

[years.2021]
qrels = "$COLL/qrels/2021.qrels"
run_name = "sim-laff-2021"

[years.2022]
qrels = "$COLL/qrels/2022.qrels"
run_name = "sim-laff-2022"

[team]
pid = "AVSDEMO"
priority = 1
tr_type = "D"
class = "F"
task = "M"
novelty = "C"
desc = "multi-head LAFF (clip, motion, scene, weak video features; bow + gru text) on SIMULATED features"
runs = ["$RUNS/sim-laff-2022.parquet"]
TOML
    echo "wrote avs.toml"
fi

step "3/10 train multi-head LAFF -> $MODEL"
if [ -f "$MODEL/metrics.json" ]; then
    echo "kept existing $MODEL"
else
    avs train "$COLL" --video-features clip,motion,scene,weak --text-features bow,gru \
        --fusion laff --preset demo --out "$MODEL"
fi

step "4/10 train a second model on other features (clip, scene, attr, noisy; bow) -> $MODEL2"
if [ -f "$MODEL2/metrics.json" ]; then
    echo "kept existing $MODEL2"
else
    avs train "$COLL" --video-features clip,scene,attr,noisy --text-features bow \
        --fusion laff --preset demo --epochs 6 --seed 1 --out "$MODEL2"
fi

step "5/10 embed every shot with both models -> $INDEX, $INDEX2 (Dask, resumable)"
avs index "$COLL" --model "$MODEL" --out "$INDEX"
avs index "$COLL" --model "$MODEL2" --out "$INDEX2"

step "6/10 score the 2021 and 2022 topics with both models (Dask LocalCluster)"
avs score --topics topics/2021.txt --overwrite
avs score --topics topics/2022.txt --overwrite
for year in 2021 2022; do
    avs score --topics "topics/$year.txt" --model "$MODEL2" --index "$INDEX2" \
        --run-name "sim-laff2-$year" --overwrite
done

step "7/10 learn fusion weights on 2021 (qrels known), fuse the 2022 runs with them"
avs fuse-learn "$RUNS/sim-laff-2021.parquet" "$RUNS/sim-laff2-2021.parquet" \
    --qrels "2021=$COLL/qrels/2021.qrels" --out "$RUNS/fusion-recipe.json" --overwrite
avs fuse --recipe "$RUNS/fusion-recipe.json" \
    "$RUNS/sim-laff-2022.parquet" "$RUNS/sim-laff2-2022.parquet" \
    --out "$RUNS/sim-fused-2022.parquet" --overwrite

step "8/10 evaluate with NIST's infAP on the simulated sampled qrels (and true AP)"
avs eval --qrels "$COLL/qrels/2022.qrels" --truth "$COLL/truth/2022.qrels" \
    "$RUNS/sim-laff-2022.parquet" "$RUNS/sim-laff2-2022.parquet" "$RUNS/sim-fused-2022.parquet"

step "9/10 report across years, the fused run beside the single ones -> $RUNS/report.html"
avs report "$RUNS/sim-laff-2021.parquet" "$RUNS/sim-laff2-2021.parquet" \
    "$RUNS/sim-laff-2022.parquet" "$RUNS/sim-laff2-2022.parquet" "$RUNS/sim-fused-2022.parquet" \
    --qrels "2021=$COLL/qrels/2021.qrels" --qrels "2022=$COLL/qrels/2022.qrels" \
    --out "$RUNS/report.html" --overwrite
avs explain --topics topics/2022.txt --model "$MODEL" --collection "$COLL" \
    --html "$RUNS/explain-2022.html"

step "10/10 submission XML (the single run, priority 1; the fused run, 2), validated first"
# the fused run records the sum of its inputs' per-topic times; the rest comes from [team]
avs submit "$RUNS/sim-laff-2022.parquet" "$RUNS/sim-fused-2022.parquet" --priority 1 \
    --desc "multi-head LAFF on SIMULATED features" \
    --desc "fusion of two LAFF models (weights learnt on 2021) on SIMULATED features"

cat <<DONE

Done (all figures above are on a SIMULATED collection):
  collection   $COLL/
  model        $MODEL/
  index        $INDEX/
  model 2      $MODEL2/ (index $INDEX2/)
  runs         $RUNS/sim-laff{,2}-2021.parquet  $RUNS/sim-laff{,2}-2022.parquet
  fusion       $RUNS/fusion-recipe.json -> $RUNS/sim-fused-2022.parquet
  report       $RUNS/report.html
  explanation  $RUNS/explain-2022.html
  submission   $(ls -t "$RUNS"/*.xml | head -n 1)
DONE
