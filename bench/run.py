"""Run every benchmark in turn and keep the output in bench/results/ (git-ignored).

    .venv/bin/python bench/run.py [--quick] [cold_start warm_path density]

Each benchmark runs as its own process, so each stops what it started; Ctrl-C reaches the one
running (same process group) and SIGTERM is passed on to it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import _harness as h

SCRIPTS = ("cold_start", "warm_path", "density")


def run(quick: bool) -> None:
    chosen = [a for a in sys.argv[1:] if not a.startswith("-")] or list(SCRIPTS)
    unknown = set(chosen) - set(SCRIPTS)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {SCRIPTS}")
    results = h.BENCH / "results"
    results.mkdir(exist_ok=True)
    out_path = results / f"{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if quick else ''}.md"
    with open(out_path, "w") as out:
        out.write(f"# Yun benchmarks{' (quick)' if quick else ''} · {h.machine()}\n\n")
        out.write(f"{git_state()}\n\n")
        for name in chosen:
            started = time.monotonic()
            lines = run_one(name, quick)
            out.write("".join(lines) + f"\n({name}: {time.monotonic() - started:.0f} s)\n\n")
            out.flush()
    print(f"\nresults: {out_path}")


def run_one(name: str, quick: bool) -> list[str]:
    cmd = [sys.executable, str(h.BENCH / f"{name}.py"), *(["--quick"] if quick else [])]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    lines = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        if child.wait() != 0:
            raise SystemExit(f"{name} failed with exit code {child.returncode}")
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)  # it cleans up as on Ctrl-C
            child.wait(60)
    return lines


def git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=h.ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "src")
    return f"Yun at {git('rev-parse', '--short', 'HEAD')}" + (
        f" with uncommitted changes in src/ ({len(dirty.splitlines())} files)" if dirty else "")


if __name__ == "__main__":
    h.main(run)
