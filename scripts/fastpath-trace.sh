#!/usr/bin/env bash
# Traces the IPC fastpaths instruction by instruction on a release build and checks them:
# gdb single-steps real guests of `umk bench` (Call and ReplyRecv across address spaces,
# Signal to a higher-priority waiter) from the guest's entry into umk_syscall until it
# returns into the next guest, and lists every function the path ran through with its
# instruction count. It fails if the path calls swift_retain/swift_release, allocates,
# takes a lock, enters the dynamic linker or the C library, or makes a host syscall, and
# when the fastpaths are not functions of their own to trace (exit status 3); status 2
# means the host could not run the trace (no gdb with Python, ptrace refused, a tool
# failed). Each path is traced up to three times and judged by its cleanest run, so that
# a timer tick that happens to land in one traced syscall does not count against it.
#
#   scripts/fastpath-trace.sh            # builds release if needed, prints the paths
#   UMK=path/to/umk scripts/fastpath-trace.sh
set -euo pipefail
trap 'exit 2' ERR
cd "$(dirname "$0")/.."
command -v gdb >/dev/null || { echo "fastpath-trace: gdb is needed (apt-get install gdb)" >&2; exit 2; }
gdb -q -batch -ex 'python print(1)' >/dev/null 2>&1 || { echo "fastpath-trace: this gdb has no Python" >&2; exit 2; }
umk=${UMK:-.build/release/umk}
[ -x "$umk" ] || swift build -c release --product umk >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy without DWARF: gdb then starts in a second and steps faster.
cp "$umk" "$work/umk"
strip --strip-debug "$work/umk"
call=$(nm "$work/umk" | awk '/fastpathCall.*LinuxHAL/ && !n++ { print $3 }')
signal=$(nm "$work/umk" | awk '/fastpathSignal.*LinuxHAL/ && !n++ { print $3 }')
[ -n "$call" ] && [ -n "$signal" ] || { echo "fastpath-trace: the fastpaths are not functions of their own in $umk" >&2; exit 3; }

nm "$work/umk" | awk '$2 ~ /^[tTwW]$/' > "$work/symbols"

cat > "$work/trace.py" <<EOF
import gdb, re
gdb.execute("set pagination off")
gdb.execute("set confirm off")
for s in ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGIO"]:
    gdb.execute("handle %s nostop noprint pass" % s)
names = {-1: "Call", -2: "ReplyRecv", -3: "Send", -4: "NBSend", -5: "Recv"}
# Only the binary's own code may run: a PLT stub or any shared library's function (libc,
# the Swift runtime, the dynamic linker) is a call out of the path, and these by name too.
own = set(l.split()[-1] for l in open("$work/symbols") if len(l.split()) == 3)
forbidden = re.compile(r"swift_retain|swift_release|swift_alloc|swift_bridgeObject|swift_beginAccess|swift_once|"
                       r"malloc|calloc|realloc|^free$|pthread|futex|__tls_get_addr|^_dl_|^syscall$|@plt")
def is_forbidden(name):
    return name not in own or bool(forbidden.search(name))

def trace_one():
    """Steps one syscall from umk_syscall to the next guest; returns (number, [(function, count)])."""
    frame = gdb.selected_frame()
    io = int(gdb.parse_and_eval("\$rdi"))
    number = int(gdb.parse_and_eval("*(long *)%d" % io))
    runs, steps, resumed = [], 0, False
    while steps < 5000:
        name = gdb.selected_frame().name() or "??"
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
        insn = gdb.execute("x/i \$pc", to_string=True)
        steps += 1
        if resumed and "ret" in insn.split(":")[-1]:
            break
        if "umk_in_guest" in insn and "\$0x1" in insn:
            resumed = True
        gdb.execute("stepi", to_string=True)
    return number, runs, steps

def report(label, number, runs, steps):
    bad = sorted({n for n, _ in runs if is_forbidden(n)})
    print("%s (%s): %d instructions from the guest's call to the next guest" % (label, names.get(number, number), steps))
    for n, c in runs:
        short = re.sub(r"^\\\$s[0-9]*UMKernel6Kernel(CA2A8LinuxHALVRszrlE)?", "Kernel.", n)
        print("  %5d  %s" % (c, short[:100]))
    return bad

def best_of(number_wanted, tries=3):
    """Traces up to tries syscalls numbered number_wanted: the first clean one, or the last."""
    for attempt in range(tries):
        while True:
            gdb.execute("continue")
            number, runs, steps = trace_one()
            if number == number_wanted:
                break
        bad = sorted({n for n, _ in runs if is_forbidden(n)})
        if not bad or attempt == tries - 1:
            return number, runs, steps

def main():
  failures = []
  gdb.execute("break $call")
  gdb.execute("run bench --filter ipc-call-different --samples 4000 > /dev/null 2>&1")
  gdb.execute("ignore \$bpnum 3000")
  gdb.execute("continue")
  gdb.execute("delete")
  gdb.execute("break umk_syscall")
  for wanted in (-1, -2):
      failures += report("fastpath", *best_of(wanted))
  gdb.execute("delete")
  gdb.execute("break $signal")
  gdb.execute("ignore \$bpnum 1000")
  gdb.execute("continue")
  gdb.execute("delete")
  gdb.execute("break umk_syscall")
  failures += report("fastpath", *best_of(-3))
  gdb.execute("kill")
  if failures:
      print("FAIL: the path calls " + ", ".join(sorted(set(failures))))
      return 3
  print("OK: no ARC, allocation, lock, libc, dynamic linker or host syscall on these paths")
  return 0

try:
    code = main()
except Exception as e:
    print("fastpath-trace: %s" % e)
    code = 2
gdb.execute("quit %d" % code)
EOF
status=0
gdb -q -batch -x "$work/trace.py" "$work/umk" > "$work/out" 2> "$work/err" || status=$?
grep -v '^0x[0-9a-f]* in \|^\[\|^Breakpoint\|^Will ignore\|^Program\|^Using host\|^$' "$work/out" || true
if [ "$status" != 0 ] && [ "$status" != 3 ]; then
    grep -v '^warning\|During symbol' "$work/err" | tail -5 >&2
fi
exit "$status"
