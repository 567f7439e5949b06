# Sourced by the bench scripts.

# interleaved RUNS -- "cmd A" -- "cmd B": runs A and B alternately (so both see the same machine
# state), then prints "wall_a cpu_a wall_b cpu_b": medians of wall and user+sys seconds.
interleaved() {
  local n=$1 a=$3 b=$5
  python3 - "$n" "$a" "$b" <<'PY'
import os, statistics, subprocess, sys, time
n, cmds = int(sys.argv[1]), sys.argv[2:4]
wall, cpu = [[], []], [[], []]
for _ in range(n):
    for k, cmd in enumerate(cmds):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall[k].append(time.perf_counter() - start)
        after = os.times()
        cpu[k].append(after.children_user - before.children_user + after.children_system - before.children_system)
print(" ".join(f"{statistics.median(x):.4f}" for k in range(2) for x in (wall[k], cpu[k])))
PY
}

