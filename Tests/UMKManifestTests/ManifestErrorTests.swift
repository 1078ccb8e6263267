// SPDX-License-Identifier: Apache-2.0
//
// Every class of manifest problem, with its exact message and location: unknown keys,
// wrong types, missing keys, YAML syntax, overlapping, misaligned and out-of-range
// regions, unknown programs and tasks, duplicate names and ids, priorities and call
// cycles, grants, RAM too small. A problem never stops the others from being reported.

import Testing
import UMKABI
import UMKManifest

@Suite("Manifest problems")
struct ManifestErrorTests {
    static let programs: Set<String> = ["ping", "pong", "console", "timer", "pager", "names", "worker"]

    /// The problems of `yaml` as "line:column: message".
    func problems(_ yaml: String) -> [String] {
        do {
            _ = try Manifest.compile(yaml, file: "m.yaml", programs: Self.programs)
            return []
        } catch {
            #expect(error.diagnostics.allSatisfy { $0.file == "m.yaml" })
            #expect(error.description.split(separator: "\n").allSatisfy { $0.hasPrefix("m.yaml:") })
            return error.diagnostics.map { "\($0.location): \($0.message)" }
        }
    }

    @Test("MANIFEST0013 hostile numbers are refused at their place, never trap: sizes near 2^64, huge cspace_bits, timeouts out of range")
    func hostileNumbers() {
        #expect(problems("""
            tasks:
              - {name: p, program: pager, priority: 200}
              - {name: w, program: ping, heap: {size: 0xFFFFFFFFFFFFF000, pager: p}}
              - {name: s, program: ping, stack: 0xFFFFFFFFFFFFF000, cspace_bits: 18446744073709551615}
            regions:
              - {name: r, size: 0xFFFFFFFFFFFFF000, map: [{task: w, address: 0x5000_0000}]}
              - {name: q, size: 4 KiB, map: [{task: s, address: 0xFFFFFFFFFFFFF000}]}
            """) == [
            "3:36: heap: 0x40000000 + 0xfffffffffffff000 (past 2^64) is out of range (a task's regions lie between 0x2000000 and 0x400000000)",
            "4:37: stack must be at most 8 MiB, not 18014398509481980 KiB",
            "4:70: cspace_bits must be between 7 and 20 (the task's reserved slots need 2^7), not 18446744073709551615",
            "6:21: region 'r': size 18014398509481980 KiB is more than the largest RAM (64 GiB)",
            "7:53: region 'q': 0xfffffffffffff000 + 0x1000 (past 2^64) is out of range (a task's regions lie between 0x2000000 and 0x400000000)",
        ])
        #expect(problems("""
            tasks:
              - {name: a, program: ping}
            expect: {timeout: 99999999999 s}
            """) == ["3:19: expect.timeout must be between 1 ms and 1000000 s, not '99999999999 s'"])
        #expect(problems("""
            tasks:
              - {name: a, program: ping}
            expect: {timeout: 0.0000000001 s}
            """) == ["3:19: expect.timeout must be between 1 ms and 1000000 s, not '0.0000000001 s'"])
    }

    @Test("MANIFEST0014 YAML aliases that would expand past 100,000 nodes (an alias bomb) are refused at the alias, at once")
    func aliasBomb() {
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            lines.append("\(name): &\(name) [\(Array(repeating: "*\(previous)", count: 9).joined(separator: ", "))]")
        }
        lines += ["tasks:", "  - {name: t, program: ping, ? *i : 1}"]
        let clock = ContinuousClock()
        var found: [String] = []
        let took = clock.measure { found = problems(lines.joined(separator: "\n")) }
        #expect(found == ["6:8: YAML aliases here expand to more than 100000 nodes (umk's limit; an alias bomb?): write the values out, or use fewer aliases of aliases"])
        // Refused before any expansion (Yams would take minutes); generous for a slow host.
        #expect(took < .seconds(5))
        // A few aliases, as manifests use them, are fine.
        #expect(problems("""
            defaults: &d {program: ping, priority: 100}
            tasks:
              - {name: a, <<: *d}
            """).allSatisfy { !$0.contains("alias") })
    }

    /// A valid manifest of `n` tasks: callers and servers in pairs, a notification chain
    /// between the pairs, and a region for every tenth task.
    static func sized(_ n: Int) -> String {
        var lines = ["ram: 64 GiB", "tasks:"]
        for i in 0..<n { lines.append("  - {name: t\(i), program: \(i % 2 == 0 ? "ping" : "pong"), priority: \(i % 2 == 0 ? 100 : 150)}") }
        lines.append("regions:")
        for i in stride(from: 0, to: n, by: 10) { lines.append("  - {name: r\(i), size: 4 KiB, map: [{task: t\(i), address: 0x5000_0000}]}") }
        lines.append("channels:")
        for i in stride(from: 0, to: n - 1, by: 2) {
            lines.append("  - {name: c\(i), client: {task: t\(i), id: 1}, server: {task: t\(i + 1), id: 2}}")
            if i + 2 < n { lines.append("  - {name: n\(i), kind: notification, client: {task: t\(i + 1), id: 3}, server: {task: t\(i + 2), id: 4}}") }
        }
        return lines.joined(separator: "\n")
    }

    @Test("MANIFEST0015 checking grows linearly: 10,000 tasks take about ten times 1,000 (a quadratic step would take a hundred); past 16,384 items a list is refused before it is built")
    func linearCheck() {
        let clock = ContinuousClock()
        func seconds(_ n: Int) -> Double {
            let text = Self.sized(n)
            var problems: [String] = []
            let d = clock.measure {
                do throws(ManifestError) {
                    _ = try Manifest.compile(text, file: "m.yaml", programs: Self.programs, addressSpaces: 1 << 20)
                } catch {
                    problems = error.diagnostics.map { $0.message }
                }
            }
            // Checked through: at most the plan is too large for init's boot modules.
            #expect(problems.allSatisfy { $0.hasPrefix("the compiled plan") }, "\(problems.prefix(3))")
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        _ = seconds(200)  // warm up
        let small = seconds(1_000), large = seconds(10_000)
        // Generous: linear is about 10; quadratic would be about 100.
        #expect(large / small < 35, "1,000 tasks \(small) s, 10,000 tasks \(large) s")
        var huge = ["tasks:"]
        for i in 0..<20_000 { huge.append("  - {name: t\(i), program: ping}") }
        #expect(problems(huge.joined(separator: "\n")) == ["16386:5: 'tasks' has more than 16384 items (umk's limit; no machine runs that many)"])
    }

    @Test("MANIFEST0016 pagers paging each other, a fault handler that never receives faults, names, arguments and stacks that could not boot: each refused at its place")
    func onlyWhatBoots() {
        #expect(problems("""
            tasks:
              - {name: p, program: pager, priority: 200, heap: {size: 64 KiB, pager: q}}
              - {name: q, program: pager, priority: 200, heap: {size: 64 KiB, pager: r}}
              - {name: r, program: pager, priority: 200, heap: {size: 64 KiB, pager: p}}
              - {name: w, program: ping, heap: {size: 64 KiB, pager: p}, fault_handler: h}
              - {name: h, program: pong}
              - {name: s, program: ping, stack: 8 KiB}
            """) == [
            "2:74: pagers paging each other can deadlock: 'p' is paged by 'q' is paged by 'r' is paged by 'p'",
            "5:77: fault_handler 'h' runs 'pong', which never receives faults: the faults of 'w' would be lost (name a pager program, an image, or init)",
            "7:37: stack must be at least 16 KiB (a task's first frames need that much), not 8 KiB",
        ])
        let long = String(repeating: "n", count: 65)
        let args = Array(repeating: "x", count: 2_000).joined(separator: ", ")
        #expect(problems("""
            tasks:
              - {name: \(long), program: ping}
              - {name: a, program: ping, args: [\(args)]}
            """) == [
            "2:12: a task's name must be at most 64 bytes, not 65",
            "3:5: task 'a': its name, program and 2000 arguments take 34021 bytes; a task's start info holds at most 30720",
        ])
    }

    @Test("MANIFEST0017 sizes: B is a unit after a decimal number; after a hex one without a space it is ambiguous")
    func byteUnit() throws {
        let system = try Manifest.compile("""
            ram: 16777216B
            tasks:
              - {name: a, program: ping, stack: 0x10000 B}
            """, file: "m.yaml", programs: Self.programs)
        #expect(system.ram == 16 << 20 && system.plan.tasks[0].stackPages == 16)
        #expect(problems("""
            tasks:
              - {name: a, program: ping, stack: 0x1000B}
            """) == ["2:37: stack '0x1000B' is ambiguous (B is a hex digit): write '0x1000 B' for bytes"])
    }

    @Test("MANIFEST0018 device regions: physical address above RAM, 4 KiB pages, no overlap, a known backing; the plan carries the address, the system its backing")
    func deviceRegions() throws {
        let system = try Manifest.compile("""
            ram: 16 MiB
            tasks:
              - {name: d, program: ping}
            regions:
              - {name: ring, size: 8 KiB, device: {address: 0xC000_0000}, map: [{task: d, address: 0x5000_0000}]}
              - {name: rom, size: 4 KiB, device: {address: 0xC000_2000, backing: "file:rom.bin"}, map: [{task: d, address: 0x5001_0000, rights: r}]}
            """, file: "/m/m.yaml", programs: Self.programs)
        #expect(system.plan.regions.map(\.device) == [0xC000_0000, 0xC000_2000])
        #expect(system.devices == [DeviceMemory(name: "ring", paddr: 0xC000_0000, size: 0x2000, backing: "shm"),
                                   DeviceMemory(name: "rom", paddr: 0xC000_2000, size: 0x1000, backing: "/m/rom.bin")])
        #expect(problems("""
            ram: 16 MiB
            tasks:
              - {name: d, program: ping}
            regions:
              - {name: a, size: 4 KiB, device: {address: 0x10_0000}, map: [{task: d, address: 0x5000_0000}]}
              - {name: b, size: 8 KiB, device: {address: 0xC000_0000}, map: [{task: d, address: 0x5001_0000}]}
              - {name: c, size: 4 KiB, device: {address: 0xC000_1000}, map: [{task: d, address: 0x5002_0000}]}
              - {name: e, size: 4 KiB, device: {address: 0xD000_0000, backing: tape}, map: [{task: d, address: 0x5003_0000}]}
              - {name: f, size: 2 MiB, page_size: 2 MiB, device: {address: 0xE000_0000}, map: [{task: d, address: 0x5020_0000}]}
            """) == [
            "5:46: region 'a': device.address 0x100000 must be page aligned, with the region between RAM's end (0x1000000) and 0x10000000000",
            "7:46: region 'c': device memory 0xc0001000-0xc0002000 overlaps region 'b' (0xc0000000-0xc0002000)",
            "8:68: region 'e': device.backing must be shm or file:PATH, not 'tape'",
            "9:39: region 'f': device memory comes in 4 KiB pages",
        ])
    }

    @Test("MANIFEST0012 a task beyond the address spaces the machine runs at once is refused where it is named")
    func tooManyAddressSpaces() {
        let yaml = """
            tasks:
              - {name: a, program: ping}
              - {name: b, program: ping}
              - {name: c, program: ping}
            """
        do {
            // Init's address space and two tasks fit in three; the third task does not.
            _ = try Manifest.compile(yaml, file: "m.yaml", programs: Self.programs, addressSpaces: 3)
            Issue.record("compiled")
        } catch {
            #expect(error.diagnostics.map { "\($0.location): \($0.message)" } == [
                "4:12: task 'c' would be address space 4 with init's; this machine runs at most 3 at once (3 tasks here)",
            ])
        }
        #expect((try? Manifest.compile(yaml, file: "m.yaml", programs: Self.programs, addressSpaces: 4)) != nil)
    }

    @Test("MANIFEST0001 an unknown key is reported where it is, with the key it resembles")
    func unknownKey() {
        #expect(problems("""
            tasks:
              - name: a
                program: ping
                prioity: 3
            """) == ["4:5: unknown key 'prioity' in a task; did you mean 'priority'? (known: name, program, image, priority, mcp, stack, cspace_bits, heap, fault_handler, args, irqs, ioports)"])
        #expect(problems("tasks: []\nmemory: 4\n") == [
            "1:8: 'tasks' is empty; a system needs at least one task",
            "2:1: unknown key 'memory' in the manifest (known: name, ram, clock, console, root, tasks, regions, channels, expect)",
        ])
    }

    @Test("MANIFEST0002 wrong types: each value that is not what its key takes")
    func wrongTypes() {
        #expect(problems("""
            clock: sundial
            tasks:
              - name: a
                program: ping
                priority: high
                stack: lots
                args: {x: 1}
            expect:
              timeout: soon
            """) == [
            "1:8: clock must be one of virtual, realtime, not 'sundial'",
            "5:15: priority must be an integer, not 'high'",
            "6:12: stack must be a size such as 4096, 64 KiB or 16 MiB, not 'lots'",
            "7:11: args must be a list (lines starting with '- ')",
            "9:12: expect.timeout must be a duration such as 10 s or 500 ms, not 'soon'",
        ])
        #expect(problems("tasks: 3\n") == ["1:8: tasks must be a list (lines starting with '- ')"])
    }

    @Test("MANIFEST0003 missing keys and YAML syntax errors")
    func missingAndSyntax() {
        #expect(problems("tasks:\n  - name: a\n") == ["2:5: task 'a' needs a program (registered by name) or an image (an ELF file)"])
        #expect(problems("tasks:\n  - name: a\n    program: [ping\n") == [
            "4:1: YAML: did not find expected ',' or ']' (while parsing a flow sequence)",
        ])
        #expect(problems("") == ["1:1: the manifest is empty; it needs at least 'tasks' (or 'root')"])
    }

    @Test("MANIFEST0004 regions: overlapping, misaligned, out of range, duplicate names, bad page sizes")
    func regions() {
        #expect(problems("""
            tasks:
              - {name: a, program: ping}
              - {name: b, program: pong, priority: 150}
            regions:
              - name: r1
                size: 8 KiB
                map:
                  - {task: a, address: 0x5000_0000}
              - name: r2
                size: 4 KiB
                map:
                  - {task: a, address: 0x5000_1000}
                  - {task: b, address: 0x5000_0800}
              - name: r3
                size: 4 KiB
                map:
                  - {task: b, address: 0x1000}
                  - {task: a, address: 0x4_0000_0000}
              - name: r1
                size: 3 MiB
                page_size: 2 MiB
                map:
                  - {task: b, address: 0x6000_0000}
              - name: r5
                size: 4 KiB
                page_size: 64 KiB
                map: []
            """) == [
            "12:28: region 'r2' at 0x50001000-0x50002000 overlaps region 'r1' of 'a' (0x50000000-0x50002000)",
            "13:28: region 'r2': address 0x50000800 is not aligned to 4 KiB",
            "17:28: region 'r3': 0x1000-0x2000 is out of range (a task's regions lie between 0x2000000 and 0x400000000)",
            "18:28: region 'r3': 0x400000000-0x400001000 is out of range (a task's regions lie between 0x2000000 and 0x400000000)",
            "19:11: duplicate region name 'r1' (first at 5:11)",
            "20:11: region 'r1': size must be a positive multiple of its page size (2 MiB), not 3145728 bytes",
            "26:16: page_size must be 4 KiB or 2 MiB, not 64 KiB",
        ])
    }

    @Test("MANIFEST0005 a heap that overlaps a region, and heaps with a pager that is not one")
    func heaps() {
        #expect(problems("""
            tasks:
              - {name: p, program: pager, priority: 200}
              - name: a
                program: worker
                heap: {size: 1 MiB, address: 0x4000_0000, pager: p}
              - name: b
                program: worker
                heap: {size: 1 MiB, pager: a}
            regions:
              - name: r
                size: 4 KiB
                map:
                  - {task: a, address: 0x4000_8000}
            """) == [
            "8:32: heap.pager 'a' runs 'worker', not a pager program (pager)",
            "13:28: region 'r' at 0x40008000-0x40009000 overlaps the heap of 'a' (0x40000000-0x40100000)",
        ])
        #expect(problems("""
            tasks:
              - {name: p, program: pager, priority: 200}
              - {name: a, program: worker, heap: {size: 1 MiB, pager: p, fault_ahead: 0}}
              - {name: b, program: worker, heap: {size: 1 MiB, pager: p, fault_ahead: 513}}
            """) == [
            "3:75: heap.fault_ahead must be between 1 and 512, not 0",
            "4:75: heap.fault_ahead must be between 1 and 512, not 513",
        ])
    }

    @Test("MANIFEST0006 unknown programs and tasks, duplicate task and channel names, duplicate and out-of-range ids")
    func namesAndIDs() {
        #expect(problems("""
            tasks:
              - {name: a, program: ping}
              - {name: a, program: pong}
              - {name: b, program: frobnicator}
              - {name: c, program: pong, priority: 150}
            channels:
              - name: x
                client: {task: a, id: 1}
                server: {task: c, id: 1}
              - name: y
                client: {task: a, id: 1}
                server: {task: c, id: 2}
              - name: x
                client: {task: b, id: 70}
                server: {task: c, id: 3}
              - name: z
                client: {task: b, id: 2}
                server: {task: nobody, id: 1}
            """) == [
            "3:12: duplicate task name 'a' (first at 2:12)",
            "4:24: unknown program 'frobnicator' (programs: console, names, pager, ping, pong, timer, worker)",
            "11:27: task 'a' already has id 1 (channel 'x' at 8:27)",
            "13:11: duplicate channel name 'x' (first at 7:11)",
            "14:27: id must be between 1 and 63, not 70",
            "18:20: server task 'nobody' is not a task of this manifest (tasks: a, b, c)",
        ])
    }

    @Test("MANIFEST0007 shared server ends need distinct badges and one kind")
    func sharedEnds() {
        #expect(problems("""
            tasks:
              - {name: s, program: pong, priority: 150}
              - {name: a, program: ping}
              - {name: b, program: ping}
            channels:
              - {name: as, client: {task: a, id: 1, badge: 5}, server: {task: s, id: 1}}
              - {name: bs, client: {task: b, id: 1, badge: 5}, server: {task: s, id: 1}}
              - {name: bn, kind: notification, client: {task: b, id: 2}, server: {task: s, id: 1}}
            """) == [
            "7:48: channels 'as' and 'bs' share server 's' id 1 and need different badges (both 5)",
            "8:84: task 's' id 1 is the endpoint of channel 'as'; channel 'bn' is a notification",
        ])
    }

    @Test("MANIFEST0008 priorities: range, Microkit's strictly-higher call rule, and call cycles")
    func priorities() {
        #expect(problems("""
            tasks:
              - {name: a, program: ping, priority: 100}
              - {name: b, program: pong, priority: 100}
              - {name: c, program: pong, priority: 255}
            channels:
              - name: ab
                client: {task: a, id: 1}
                server: {task: b, id: 1}
              - name: ba
                client: {task: b, id: 2}
                server: {task: a, id: 2}
            """) == [
            "4:40: priority must be between 1 and 254 (init runs at 255), not 255",
            "8:20: channel 'ab': 'a' (priority 100) may only call a task of strictly higher priority; 'b' has 100",
            "9:5: channel 'ba' closes a call cycle: a -> b -> a",
            "11:20: channel 'ba': 'b' (priority 100) may only call a task of strictly higher priority; 'a' has 100",
        ])
    }

    @Test("MANIFEST0009 grants: IRQ lines, overlapping ports, ids shared with channels")
    func grants() {
        #expect(problems("""
            tasks:
              - name: d
                program: console
                priority: 200
                irqs: [{irq: 4, id: 2}, {irq: 16, id: 3}]
                ioports: [{ports: 0x3F8-0x3FF, id: 4}, {ports: 0x3FC, id: 5}, {ports: 0x10-0x8, id: 6}]
              - name: e
                program: timer
                priority: 210
                irqs: [{irq: 4, id: 2}]
            """) == [
            "5:35: irq must be between 0 and 15 (the PC's lines), not 16",
            "6:52: ports 0x3fc-0x3fc overlap ports 0x3f8-0x3ff granted at 6:23",
            "6:75: ports 0x10-0x8 is not a range of I/O ports (0 to 0xFFFF, first <= last)",
            "10:18: IRQ 4 is already granted (at 5:18)",
        ])
    }

    @Test("MANIFEST0010 RAM too small for the plan")
    func ramTooSmall() {
        #expect(problems("""
            ram: 4 MiB
            tasks:
              - {name: a, program: ping}
            regions:
              - name: big
                size: 8 MiB
                map:
                  - {task: a, address: 0x1_0000_0000}
            """) == [
            "1:6: RAM too small for the plan: 4 MiB given, at least 9828 KiB needed (kernel and init, every task's objects, stacks, regions and heaps)",
        ])
    }

    @Test("MANIFEST0011 a good manifest compiles to the plan init decodes, word for word")
    func compiles() throws {
        let system = try Manifest.compile("""
            name: demo
            ram: 32 MiB
            clock: realtime
            console: none
            tasks:
              - {name: s, program: pong, priority: 150, mcp: 160, stack: 128 KiB}
              - {name: a, program: ping, args: ["3", x]}
              - {name: p, program: pager, priority: 200}
              - {name: w, program: worker, heap: {size: 64 KiB, pager: p, fault_ahead: 16}}
            regions:
              - {name: shared, size: 8 KiB, map: [{task: s, address: 0x5000_0000, rights: r}, {task: a, address: 0x6000_0000}]}
            channels:
              - {name: as, client: {task: a, id: 1, badge: 9}, server: {task: s, id: 1}}
              - {name: pub, server: {task: s, id: 2}}
            expect: {output: done, timeout: 500 ms, exit: 3}
            """, file: "m.yaml", programs: Self.programs)
        let plan = system.plan
        #expect(system.ram == 32 << 20 && system.clock == .realtime && system.console == "none")
        #expect(system.expectation?.output?.value == "done" && system.expectation?.timeout?.value == 0.5)
        #expect(plan.tasks.map(\.name) == ["s", "a", "p", "w"])
        #expect(plan.tasks[0].mcp == 160 && plan.tasks[0].stackPages == 32 && plan.tasks[1].priority == 100)
        #expect(plan.tasks[1].args == ["3", "x"])
        #expect(plan.tasks[3].heap == BootPlan.Heap(address: TaskLayout.defaultHeap, size: 64 << 10, pager: 2, faultAhead: 16))
        #expect(plan.tasks[3].faultHandler == 2 && plan.tasks[1].faultHandler == nil)
        #expect(plan.regions[0].mappings.map(\.rights) == [[.read], [.read, .write]])
        #expect(plan.channels[0].client == BootPlan.End(task: 1, id: 1, badge: 9))
        #expect(plan.channels[1].client == nil)
        var reader = PlanReader(words: plan.encoded())
        #expect(try BootPlan(reading: &reader) == plan)
        // Microkit PDs' patches and caps travel too.
        var withPDs = plan
        withPDs.protectionDomains = [BootPlan.ProtectionDomain(task: 1, patches: [ELFImage.Patch(address: 0x4010, bytes: Array("a name\0".utf8) + [9, 8, 7])])]
        withPDs.pdCaps = [BootPlan.PDCap(task: 1, slot: 129, kind: .endpoint, target: 0, badge: 1 << 63 | 2)]
        var pdReader = PlanReader(words: withPDs.encoded())
        #expect(try BootPlan(reading: &pdReader) == withPDs)
        var truncated = PlanReader(words: Array(plan.encoded().dropLast(3)))
        #expect(throws: PlanFormatError.self) { try BootPlan(reading: &truncated) }
    }
}
