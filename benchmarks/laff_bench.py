"""LAFF on a simulated collection: fusions, single features, Fig. 4, speed, attention.

    .venv/bin/python benchmarks/laff_bench.py [--quick]

Creates (once) a default-size simulated collection (4,000 training videos x 5 captions)
under benchmarks/.cache/, then trains every model with the same seed and settings:
each single video feature, mean, mhsa, concat, laff and laff-ml over all video
features (text side bow+gru), the paper's Fig. 4 (video features added one at a time
with text fixed; text features added with video fixed), and reports test R@1/5/10/mAP,
training speed on CPU and the motion extractor's attention on captions that do / do not
mention an action. SIMULATED data: a linear map plus tanh is simpler than real video
features, so these numbers check behaviour, not the paper's absolute figures.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from avs.model import load_model
from avs.train.data import load_training_data
from avs.train.explain import split_weights
from avs.train.loop import TrainOptions, train

HERE = Path(__file__).resolve().parent
VIDEO = ["clip", "motion", "scene", "attr", "weak", "noisy"]
TEXT = ["bow", "gru"]


def ensure_collection(path: Path, train_videos: int, seed: int) -> Path:
    if not (path / "collection.json").is_file():
        from avs.synth.collection import make_collection

        make_collection(path, [HERE.parent / "topics" / "2022.txt"], shots=3000, seed=seed,
                        train_videos=train_videos)  # fmt: skip
    return path


def action_forms(collection: Path) -> re.Pattern[str]:
    """Surface forms (synonyms included) of every action concept of the simulated world."""
    from avs.synth import vocab

    doc = json.loads((collection / "collection.json").read_text())
    concepts = doc.get("concepts", {})
    if isinstance(concepts, str):  # older generator wrote a repr
        import ast

        concepts = ast.literal_eval(concepts)
    names = set(vocab.WORDS["action"]) if hasattr(vocab, "WORDS") else set()
    for cs in concepts.values():
        names.update(c for c in cs if vocab.kind_of(c) == "action")
    forms = {f for c in names for f in vocab.synonyms(c)} | names
    return re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, forms), key=len, reverse=True)) + r")\b"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, default=HERE / ".cache" / "laff-collection")
    ap.add_argument("--train-videos", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--minilm", action="store_true", help="add minilm to the text Fig. 4 row")
    ap.add_argument("--quick", action="store_true", help="1,000 training videos, 4 epochs")
    ap.add_argument("--models", type=Path, default=HERE / ".cache" / "laff-models")
    ap.add_argument("--json", type=Path, default=HERE / ".cache" / "laff-bench.json")
    ap.add_argument(
        "--rerun",
        action="append",
        default=[],
        help="reuse the models recorded in --json and retrain only these (repeatable), "
        "e.g. --rerun mhsa after a change to that fusion",
    )
    args = ap.parse_args()
    if args.quick:
        args.train_videos, args.epochs = 1000, 4
        args.collection = args.collection.with_name(args.collection.name + "-quick")
    torch.set_num_threads(args.threads)
    coll = ensure_collection(args.collection, args.train_videos, args.seed)
    results: dict[str, dict] = {}
    if args.rerun and args.json.exists():  # same settings assumed: the caller's responsibility
        results = json.loads(args.json.read_text())["results"]
        for name in args.rerun:
            results.pop(name, None)

    def run(name: str, video: list[str], text: list[str], fusion: str = "laff") -> dict:
        if name in results:
            return results[name]
        opts = TrainOptions(
            collection=str(coll), out=str(args.models / name.replace(":", "_").replace("+", "_")),
            video_features=video, text_features=text, fusion=fusion, heads=args.heads,
            dim=args.dim, epochs=args.epochs, batch_size=128, lr=args.lr, seed=args.seed,
            device="cpu", model_options={"gru_word_dim": 64, "gru_hidden": 128},
        )  # fmt: skip
        t0 = time.perf_counter()
        r = train(opts)
        results[name] = {**r.test, "best_epoch": r.best_epoch, "captions_per_s": r.captions_per_s,
                         "seconds": time.perf_counter() - t0, "out": opts.out}  # fmt: skip
        m = results[name]
        print(f"  {name:28s} R@1 {m['r1']:5.1f} R@5 {m['r5']:5.1f} R@10 {m['r10']:5.1f} "
              f"mAP {m['map']:.4f}  (best epoch {m['best_epoch']}, {m['seconds']:.0f} s)", flush=True)  # fmt: skip
        return m

    print(f"collection {coll} (SIMULATED), seed {args.seed}, {args.epochs} epochs, lr {args.lr}, "
          f"{args.heads}x{args.dim // args.heads}, threads {args.threads}", flush=True)  # fmt: skip
    for f in VIDEO:
        run(f"single:{f}", [f], TEXT)
    for fusion in ("mean", "mhsa", "concat", "laff", "laff-ml"):
        run(fusion, VIDEO, TEXT, fusion)
    fig4_video = [run("laff:" + "+".join(VIDEO[:i]), VIDEO[:i], TEXT) if i < len(VIDEO)
                  else results["laff"] for i in range(1, len(VIDEO) + 1)]  # fmt: skip
    texts = [["bow"], ["bow", "gru"]] + ([["bow", "gru", "minilm"]] if args.minilm else [])
    fig4_text = [run("laff-text:" + "+".join(t), VIDEO, t) for t in texts]

    # attention of the motion extractor, per test caption, split by action mentions
    model = load_model(results["laff"]["out"])
    data = load_training_data(coll, model.video_features, model.frame_features, args.seed)
    _, vw = split_weights(model, data, "test")
    motion = vw[:, :, model.video_features.index("motion")].mean(1)
    pattern = action_forms(coll)
    has_action = np.array([bool(pattern.search(t.lower())) for t in data.splits["test"].texts])

    print("\n## Test split, text-to-video (SIMULATED collection)\n")
    print("| model | R@1 | R@5 | R@10 | medR | mAP |\n|---|---|---|---|---|---|")
    for name in [f"single:{f}" for f in VIDEO] + ["mean", "mhsa", "concat", "laff", "laff-ml"]:
        m = results[name]
        print(
            f"| {name} | {m['r1']:.1f} | {m['r5']:.1f} | {m['r10']:.1f} | {m['medr']:.0f} | {m['map']:.4f} |"
        )
    print("\n## Fig. 4: adding video features (text bow+gru, laff)\n")
    print("| video features | mAP | R@1 |\n|---|---|---|")
    for i, m in enumerate(fig4_video, 1):
        print(f"| {'+'.join(VIDEO[:i])} | {m['map']:.4f} | {m['r1']:.1f} |")
    print("\n## Fig. 4: adding text features (all video features, laff)\n")
    print("| text features | mAP | R@1 |\n|---|---|---|")
    for t, m in zip(texts, fig4_text, strict=True):
        print(f"| {'+'.join(t)} | {m['map']:.4f} | {m['r1']:.1f} |")
    print("\n## Training speed (CPU, train captions per second, excluding validation)\n")
    for name in ("single:clip", "mean", "laff", "laff-ml", "mhsa", "concat"):
        print(f"- {name}: {results[name]['captions_per_s']:.0f} captions/s "
              f"({results[name]['seconds']:.0f} s for the run)")  # fmt: skip
    print("\n## Motion extractor's attention (laff, test captions, mean over heads)\n")
    print(
        f"- captions mentioning an action: {motion[has_action].mean():.3f} (n={has_action.sum()})"
    )
    print(
        f"- captions without an action:    {motion[~has_action].mean():.3f} (n={(~has_action).sum()})"
    )
    best_single = max((m["map"], n) for n, m in results.items() if n.startswith("single:"))
    laff, mlaff = results["laff"]["map"], results["laff-ml"]["map"]
    print("\n## Claims\n")
    for claim, ok in (
        (f"laff > best single feature ({best_single[1]})", laff > best_single[0]),
        ("laff > mean", laff > results["mean"]["map"]),
        ("laff > mhsa", laff > results["mhsa"]["map"]),
        ("laff-ml >= laff", mlaff >= laff),
        ("motion weight higher on action captions", motion[has_action].mean() > motion[~has_action].mean()),
    ):  # fmt: skip
        print(f"- {claim}: {'holds' if ok else 'DOES NOT HOLD'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                     "results": results}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
