# SPDX-License-Identifier: Apache-2.0
#
# gdb support for umk: guest threads and program images.
#
#   gdb -x scripts/umk-gdb.py --args .build/debug/umk run --no-sandbox system.yaml
#
# - The signals umk takes as part of its work (demand paging, guests' exceptions, trapped syscalls, IRQs,
#   timers, console input) pass to umk without stopping gdb.
# - Each program image a task runs gets its symbols at its load address as soon as umk
#   knows it (a breakpoint on umk_debug_images_ready), so `break server.c:42` stops in a
#   C or Microkit guest (as a hardware breakpoint, see below); a breakpoint in one task's
#   image stops only that task. Build images with `umk cc -g -O0` for lines and variables.
# - `info umk-threads` lists every TCB: name, state, priority, VSpace (its PML4's
#   physical address, as `umk run --cap-graph` names it), where it is (IP, stack
#   pointer) and the object it waits on.
# - `umk-thread N` shows guest thread N's backtrace from its saved registers (the host
#   thread's registers are the guest's for the backtrace and are put back at once).
# - The page faults pagers answer pass unseen (SIGSEGV is umk's demand paging), but gdb
#   stops where init reports a crashed task, a fault nothing will answer, with that task's
#   thread stopped where it faulted (`set umk-stop-on-crash off` to go on instead).
#
# It reads umk_debug_info (CShims/debug.c), which gives where RAM is and the layout of a
# TCB, so it needs no debug information for umk's Swift code.

import gdb
import re
import shutil
import struct
import subprocess

MAGIC = 0x554D4B4442473031
STATES = ["inactive", "running", "restart", "blocked on receive", "blocked on send",
          "blocked on reply", "blocked on notification", "idle"]
REGISTERS = ["rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "fs_base", "gs_base"]
FIELDS = ["magic", "version", "physmap", "tcb_list", "current_thread", "tcb_next", "tcb_name",
          "tcb_state", "tcb_priority", "tcb_registers", "tcb_next_ip", "tcb_user_entry",
          "tcb_blocking_object", "tcb_context", "image_count", "tcb_vspace"]

for signal in ["SIGSEGV", "SIGSYS", "SIGBUS", "SIGILL", "SIGFPE", "SIGUSR1", "SIGUSR2", "SIG38", "SIG39", "SIGALRM"]:
    gdb.execute("handle %s nostop noprint pass" % signal, to_string=True)

# The guests' windows (LinuxWindows: 0x1000_0000_0000 up to 0x5000_0000_0000) are
# read-only memory to gdb: an image's code is read-only shared memory, where gdb cannot
# write an int3, so a `break` there becomes a hardware breakpoint (gdb's auto-hw; x86 has
# four). Reading guest memory works; to write it, `delete mem` first.
gdb.execute("set mem inaccessible-by-default off", to_string=True)
gdb.execute("mem 0x100000000000 0x500000000000 ro", to_string=True)


def inferior():
    return gdb.selected_inferior()


def words(address, count):
    data = inferior().read_memory(address, 8 * count).tobytes()
    return struct.unpack("<%dQ" % count, data)


def symbol_address(name):
    return int(gdb.parse_and_eval("(unsigned long)&%s" % name))


def debug_info():
    values = words(symbol_address("umk_debug_info"), len(FIELDS))
    info = dict(zip(FIELDS, values))
    if info["magic"] != MAGIC:
        raise gdb.GdbError("umk_debug_info is not umk's (wrong magic)")
    if info["physmap"] == 0:
        raise gdb.GdbError("no umk machine yet: run until the system boots")
    return info


def threads(info):
    """Every TCB in the kernel's list, as dicts."""
    ram = info["physmap"]
    result = []
    tcb = words(ram + info["tcb_list"], 1)[0]
    seen = set()
    while tcb and tcb not in seen and len(result) < 100000:
        seen.add(tcb)
        base = ram + tcb
        name = inferior().read_memory(base + info["tcb_name"], 32).tobytes().split(b"\0")[0].decode("utf-8", "replace")
        state = words(base + info["tcb_state"], 1)[0]
        t = {
            "paddr": tcb,
            "name": name or "tcb@%#x" % tcb,
            "state": STATES[state] if state < len(STATES) else "state %d" % state,
            "priority": words(base + info["tcb_priority"], 1)[0],
            "registers": dict(zip(REGISTERS, words(base + info["tcb_registers"], 20))),
            "next_ip": words(base + info["tcb_next_ip"], 1)[0],
            "user_entry": words(base + info["tcb_user_entry"], 1)[0],
            "waits_on": words(base + info["tcb_blocking_object"], 1)[0],
            "context": base + info["tcb_context"],
            "vspace": words(base + info["tcb_vspace"], 1)[0] & ((1 << 44) - 1),
        }
        result.append(t)
        tcb = words(base + info["tcb_next"], 1)[0]
    return result


def guest_registers(t):
    """A stopped guest's registers as it will resume: pc, sp and what else is known."""
    if t["user_entry"] == 2:
        # In umk_syscall (a direct call): the context holds rsp (at the return address into
        # the guest) and the callee-saved registers.
        rsp, rbx, rbp, r12, r13, r14, r15 = words(t["context"], 7)
        pc = words(rsp, 1)[0] if rsp else 0
        return {"pc": pc, "sp": rsp + 8, "rbp": rbp, "rbx": rbx, "r12": r12, "r13": r13, "r14": r14, "r15": r15}
    r = dict(t["registers"])
    r.pop("fs_base"), r.pop("gs_base"), r.pop("rflags"), r.pop("rip"), r.pop("rsp")
    r.update({"pc": t["next_ip"], "sp": t["registers"]["rsp"]})
    return r


# The toolchain's demangler, beside swift on PATH.
DEMANGLER = shutil.which("swift-demangle")
demangled = {}


def demangle(text):
    """Swift's mangled names in `text` ($s...) as swift-demangle --simplified spells them."""
    names = [n for n in set(re.findall(r"\$s[0-9A-Za-z_$]+", text)) if n not in demangled]
    if names and DEMANGLER:
        try:
            out = subprocess.run([DEMANGLER, "--simplified", "--compact"] + names, capture_output=True, text=True,
                                 timeout=10).stdout.split("\n")
            demangled.update(zip(names, out))
        except (OSError, subprocess.SubprocessError):
            pass
    for n in sorted(set(re.findall(r"\$s[0-9A-Za-z_$]+", text)), key=len, reverse=True):
        if demangled.get(n):
            text = text.replace(n, demangled[n])
    return text


def describe(pc):
    block = gdb.current_progspace().block_for_pc(pc)
    function = block.function if block else None
    if function is None:
        symbol = gdb.execute("info symbol %#x" % pc, to_string=True).strip()
        return "" if symbol.startswith("No symbol") else demangle(symbol.split(" in section")[0])
    line = gdb.find_pc_line(pc)
    where = " at %s:%d" % (line.symtab.filename, line.line) if line.symtab else ""
    return demangle(str(function.print_name)) + where


class InfoThreads(gdb.Command):
    """List umk's guest threads: info umk-threads"""

    def __init__(self):
        super().__init__("info umk-threads", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        info = debug_info()
        current = words(info["physmap"] + info["current_thread"], 1)[0]
        print("  %-3s %-24s %-26s %4s  %-10s %-18s %-18s %s" % ("N", "Name", "State", "Prio", "VSpace", "IP", "SP", "Waits on"))
        for n, t in enumerate(threads(info), 1):
            g = guest_registers(t)
            if t["paddr"] == current:
                # Running now: its registers are the host thread's.
                frame = gdb.newest_frame()
                g = {"pc": int(frame.pc()), "sp": int(frame.read_register("rsp"))}
            waits = "%#x" % t["waits_on"] if t["state"].startswith("blocked") and t["waits_on"] else ""
            mark = "*" if t["paddr"] == current else " "
            vspace = "%#x" % t["vspace"] if t["vspace"] else "-"
            print("%s %-3d %-24s %-26s %4d  %-10s %-18s %-18s %s" % (mark, n, t["name"], t["state"], t["priority"], vspace,
                                                                     "%#x" % g["pc"], "%#x" % g["sp"], waits))
            where = describe(g["pc"]) if g["pc"] else ""
            if where:
                print("      in %s" % where)


class Thread(gdb.Command):
    """Show a guest thread's backtrace from its saved registers: umk-thread N (or NAME)"""

    def __init__(self):
        super().__init__("umk-thread", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        info = debug_info()
        all_threads = threads(info)
        names = [t["name"] for t in all_threads]
        if argument.strip() in names:
            n = names.index(argument.strip()) + 1
        else:
            try:
                n = int(argument)
            except ValueError:
                raise gdb.GdbError("usage: umk-thread N or NAME (from info umk-threads)")
        if not 1 <= n <= len(all_threads):
            raise gdb.GdbError("no guest thread %d (there are %d)" % (n, len(all_threads)))
        t = all_threads[n - 1]
        current = words(info["physmap"] + info["current_thread"], 1)[0]
        if t["paddr"] == current:
            print("guest thread %d, %s (%s): the one running now" % (n, t["name"], t["state"]))
            print(demangle(gdb.execute("backtrace", to_string=True)), end="")
            return
        g = guest_registers(t)
        print("guest thread %d, %s (%s): pc %#x, sp %#x" % (n, t["name"], t["state"], g["pc"], g["sp"]))
        # The host thread's registers become the guest's for the backtrace, and come back
        # before this command ends: the process goes on exactly as it was.
        frame = gdb.selected_frame()
        saved = {name: int(frame.read_register(name)) for name in g}
        try:
            for name, value in g.items():
                gdb.execute("set $%s = %#x" % (name, value), to_string=True)
            print(demangle(gdb.execute("backtrace", to_string=True)), end="")
        finally:
            for name, value in saved.items():
                gdb.execute("set $%s = %#x" % (name, value), to_string=True)
            gdb.execute("frame 0", to_string=True)


class Images(gdb.Command):
    """Add the symbols of the program images umk loads, at their load addresses: umk-images"""

    def __init__(self):
        super().__init__("umk-images", gdb.COMMAND_FILES)
        self.added = set()

    def invoke(self, argument, from_tty):
        count = words(symbol_address("umk_debug_info"), len(FIELDS))[FIELDS.index("image_count")]
        base = symbol_address("umk_debug_images")
        size = 200 + 48 + 8
        for i in range(count):
            raw = inferior().read_memory(base + i * size, size).tobytes()
            path = raw[:200].split(b"\0")[0].decode()
            task = raw[200:248].split(b"\0")[0].decode()
            bias = struct.unpack("<Q", raw[248:256])[0]
            if (path, bias) in self.added:
                continue
            self.added.add((path, bias))
            try:
                gdb.execute("add-symbol-file %s -o %#x" % (path, bias), to_string=True)
                print("umk: symbols of %s for task %s, at offset %#x" % (path, task, bias))
            except gdb.error as e:
                print("umk: cannot add the symbols of %s: %s" % (path, e))
        # gdb does not look again at pending breakpoints for symbols added this way: each is
        # made again (the same location, condition, commands) and may now resolve.
        for b in gdb.breakpoints():
            if not b.pending or not b.location or not b.is_valid():
                continue
            again = gdb.Breakpoint(b.location, internal=False)
            again.condition, again.enabled, again.silent = b.condition, b.enabled, b.silent
            if b.commands:
                again.commands = b.commands
            if not again.pending:
                print("umk: breakpoint %d (%s) is breakpoint %d now" % (b.number, b.location, again.number))
                b.delete()
            else:
                again.delete()


def quiet_breakpoint(location, commands):
    """An internal breakpoint that runs gdb commands and goes on (commands, not a Python
    stop method, which may not add symbol files or breakpoints)."""
    b = gdb.Breakpoint(location, internal=True)
    b.silent = True
    b.commands = commands + "\ncontinue"
    return b


class StopOnCrash(gdb.Parameter):
    """Whether gdb stops where init reports a crashed task."""
    set_doc = "Set whether gdb stops when a guest task crashes (a fault no pager or handler answers)."
    show_doc = "Show whether gdb stops when a guest task crashes."

    def __init__(self):
        super().__init__("umk-stop-on-crash", gdb.COMMAND_RUNNING, gdb.PARAM_BOOLEAN)
        self.value = True

    def get_set_string(self):
        return ""


class CrashStop(gdb.Breakpoint):
    """init's report of a crashed task (umk_debug_task_crashed(task, report), its arguments
    in rdi and rsi at the function's first instruction): gdb stops, naming the task."""

    def __init__(self, parameter):
        super().__init__("*umk_debug_task_crashed", internal=True)
        self.silent = True
        self.parameter = parameter

    def stop(self):
        if not self.parameter.value:
            return False
        try:
            task = gdb.parse_and_eval("(const char *)$rdi").string()
            report = gdb.parse_and_eval("(const char *)$rsi").string()
        except gdb.error:
            return True
        print("umk: stopped: %s" % report.rstrip().split("\n")[0])
        print("umk: `umk-thread %s` shows where it faulted; `continue` goes on (the rest of the system runs on)" % task)
        return True


Images()
InfoThreads()
Thread()
# The images are known: their symbols, at their load addresses.
quiet_breakpoint("umk_debug_images_ready", "umk-images")
gdb.execute("set breakpoint pending on", to_string=True)
CrashStop(StopOnCrash())
