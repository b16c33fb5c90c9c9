"""The PNG: barge-in and cpu_per_session against their same-run baselines."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent


def plot(res: dict[str, Any], out_dir: Path | None = None) -> Path:
    out_dir = out_dir or ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    b = res.get("barge_in_ms", {})
    names = ["app", "FastRTC demo\n(baseline)"]
    med = [
        b.get("app", {}).get("median") or 0,
        b.get("baseline_fastrtc_demo", {}).get("median") or 0,
    ]
    p95 = [b.get("app", {}).get("p95") or 0, b.get("baseline_fastrtc_demo", {}).get("p95") or 0]
    x = range(2)
    ax1.bar([i - 0.2 for i in x], med, 0.4, label="median", color=["#2a9d8f", "#e76f51"])
    ax1.bar([i + 0.2 for i in x], p95, 0.4, label="p95", color=["#8ad1c7", "#f4a98f"])
    # log scale above 10 ms (the baseline is ~100x the app), linear below
    ax1.set_yscale("symlog", linthresh=10, linscale=0.5)
    ax1.set_ylim(0, max(p95 + med + [100]) * 2.5)
    ax1.axhline(60, ls="--", c="k", lw=0.8)
    ax1.axhline(100, ls=":", c="k", lw=0.8)
    ax1.text(1.55, 60, "target median 60 ms", ha="right", va="top", fontsize=7)
    ax1.text(1.55, 100, "target p95 100 ms", ha="right", va="bottom", fontsize=7)
    ax1.set_xticks(list(x), names)
    ax1.set_ylabel("model audio heard after speech onset (ms)")
    ax1.set_title(f"Barge-in ({b.get('trials', '?')} trials)")
    for i, (m, p) in enumerate(zip(med, p95, strict=True)):
        ax1.text(i - 0.2, m, f"{m:g}", ha="center", va="bottom", fontsize=8)
        ax1.text(i + 0.2, p, f"{p:g}", ha="center", va="bottom", fontsize=8)
    ax1.legend(fontsize=8, loc="upper left")
    c = res.get("cpu_per_session", {})
    groups = ["audio", "audio+video"]
    app = [c.get("app_audio") or 0, c.get("app_audio_video") or 0]
    echo = [c.get("echo_audio") or 0, c.get("echo_audio_video") or 0]
    ax2.bar([i - 0.2 for i in range(2)], app, 0.4, label="app", color="#2a9d8f")
    ax2.bar(
        [i + 0.2 for i in range(2)],
        echo,
        0.4,
        label="bare FastRTC echo (baseline)",
        color="#e76f51",
    )
    for i in range(2):
        # values inside the bar tops, so they never collide with the target lines
        ax2.text(
            i - 0.2,
            app[i] * 0.97,
            f"{app[i]:.3f}",
            ha="center",
            va="top",
            fontsize=8,
            color="white",
        )
        ax2.text(
            i + 0.2,
            echo[i] * 0.97,
            f"{echo[i]:.3f}",
            ha="center",
            va="top",
            fontsize=8,
            color="white",
        )
    # the targets are ratios to the same-run echo: app <= 1.3x echo (audio), <= 0.5x (audio+video)
    for i, k in enumerate((1.3, 0.5)):
        if echo[i]:
            ax2.hlines(k * echo[i], i - 0.42, i + 0.02, colors="k", linestyles="--", lw=0.9)
            ax2.text(
                i - 0.41,
                k * echo[i] * 1.01,
                f"target {k:g}x echo",
                ha="left",
                va="bottom",
                fontsize=7,
            )
    ax2.set_xticks(range(2), groups)
    ax2.set_ylabel("CPU seconds per session-second (1 session)")
    ax2.set_title("cpu_per_session (aiortc clients, 640x480@30)")
    ax2.legend(fontsize=8)
    m = res.get("machine", {})
    load = m.get("load_avg_1_5_15_at_start") or ["?"]
    fig.suptitle(
        f"googlive bench ({m.get('cpus', '?')} CPUs, load {load[0]} at start, "
        f"{'quick' if res.get('quick') else 'full'}, {res.get('started', '')[:10]})",
        fontsize=10,
    )
    fig.tight_layout()
    path = out_dir / "bench.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    assets = ROOT / "assets"
    assets.mkdir(exist_ok=True)
    shutil.copyfile(path, assets / "bench.png")
    return path
