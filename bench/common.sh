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


# interleaved_rows RUNS "cmd 1" "cmd 2" ...: runs the commands in turn, RUNS rounds, and prints
# one line per command: median wall, median CPU (user+sys), median system time, and the largest
# peak RSS in MiB (from wait4, per process tree leader; the commands are exec'd, not wrapped).
interleaved_rows() {
  local n=$1
  shift
  python3 - "$n" "$@" <<'PY'
import os, shlex, statistics, subprocess, sys, time
n, cmds = int(sys.argv[1]), sys.argv[2:]
rows = [{"wall": [], "cpu": [], "sys": [], "rss": []} for _ in cmds]
for _ in range(n):
    for k, cmd in enumerate(cmds):
        start = time.perf_counter()
        p = subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        rows[k]["wall"].append(time.perf_counter() - start)
        rows[k]["cpu"].append(ru.ru_utime + ru.ru_stime)
        rows[k]["sys"].append(ru.ru_stime)
        rows[k]["rss"].append(ru.ru_maxrss / 1024)
        p.returncode = status
for r in rows:
    print(f'{statistics.median(r["wall"]):.4f} {statistics.median(r["cpu"]):.4f} '
          f'{statistics.median(r["sys"]):.4f} {max(r["rss"]):.1f}')
PY
}
