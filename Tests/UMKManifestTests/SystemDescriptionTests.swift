// SPDX-License-Identifier: Apache-2.0
//
// Microkit System Description Files as umk checks them: a valid SDF with every element
// kind, and each class of problem Microkit's tool refuses, with its message and place.

import Foundation
import Testing
@testable import UMKManifest

@Suite("Microkit SDFs")
struct SystemDescriptionTests {
    /// A directory with the program images the SDFs name.
    static let images: String = {
        let dir = NSTemporaryDirectory() + "umk-sdf-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["a.elf", "b.elf"] { _ = FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data([0x7F])) }
        return dir
    }()

    func problems(_ body: String) -> [String] {
        let text = "<?xml version=\"1.0\"?>\n<system>\n\(body)\n</system>\n"
        do {
            _ = try SystemDescription.check(text, file: "x.system", searchPaths: [Self.images])
            return []
        } catch {
            return error.diagnostics.map { "\($0.location): \($0.message)" }
        }
    }

    @Test("SDF0001 a valid system: PDs with a child, maps, an IRQ, I/O ports, setvars, channels")
    func valid() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <system>
                <memory_region name="buffer" size="0x2000" />
                <memory_region name="device" size="0x1000" phys_addr="0xfee0_0000" />
                <memory_region name="big" size="0x200000" page_size="0x200000" />
                <protection_domain name="client" priority="100" stack_size="0x4000">
                    <program_image path="a.elf" />
                    <map mr="buffer" vaddr="0x4000000" perms="rw" setvar_vaddr="buffer_vaddr" setvar_size="buffer_size" />
                    <map mr="big" vaddr="0x8000000" perms="r" cached="false" />
                    <setvar symbol="device_paddr" region_paddr="device" />
                </protection_domain>
                <protection_domain name="server" priority="200" passive="true" budget="100" period="200">
                    <program_image path="b.elf" />
                    <map mr="buffer" vaddr="0x5000000" perms="r" />
                    <irq id="1" pin="4" vector="36" trigger="edge" setvar_id="uart_irq" />
                    <ioport id="0" addr="0x3f8" size="8" setvar_addr="uart_base" />
                    <protection_domain name="worker" id="3" priority="150" setvar_id="worker_id">
                        <program_image path="a.elf" />
                    </protection_domain>
                </protection_domain>
                <channel>
                    <end pd="client" id="0" pp="true" notify="false" />
                    <end pd="server" id="0" />
                </channel>
                <channel>
                    <end pd="worker" id="5" />
                    <end pd="server" id="2" />
                </channel>
            </system>
            """
        let sdf = try SystemDescription.check(text, file: "x.system", searchPaths: [Self.images])
        #expect(sdf.protectionDomains.map(\.name) == ["client", "server", "worker"])
        #expect(sdf.protectionDomains[2].parent == 1 && sdf.protectionDomains[2].childID == 3)
        #expect(sdf.protectionDomains[0].maps[0].setvarVaddr == "buffer_vaddr" && sdf.protectionDomains[0].stackSize == 0x4000)
        #expect(sdf.protectionDomains[1].irqs.first?.line == 4 && sdf.protectionDomains[1].ioports.first?.size == 8)
        #expect(sdf.protectionDomains[1].passive && sdf.protectionDomains[1].imagePath == Self.images + "/b.elf")
        #expect(sdf.memoryRegions[1].physicalAddress == 0xFEE0_0000 && sdf.memoryRegions[2].pageSize == 0x20_0000)
        #expect(sdf.channels.count == 2 && sdf.channels[0].ends.0.pp && !sdf.channels[0].ends.0.notify)
    }

    @Test("SDF0002 XML that is not well-formed, and a root that is not <system>")
    func notWellFormed() {
        #expect(problems("<protection_domain name=\"a\">") == ["4:10: not well-formed XML: an end tag does not match its start tag"])
        do {
            _ = try SystemDescription.check("<?xml version=\"1.0\"?>\n<sys/>\n", file: "x.system", searchPaths: [])
            Issue.record("accepted")
        } catch {
            #expect(error.diagnostics.map { "\($0.location): \($0.message)" } == ["2:1: the root element must be <system>, not <sys>"])
        }
    }

    @Test("SDF0003 unknown elements and attributes, missing attributes, bad numbers and booleans")
    func attributes() {
        #expect(problems("""
            <protection_domain name="a" colour="red" priority="x">
                <program_image path="a.elf" />
                <tmap mr="m" />
            </protection_domain>
            <memory_region size="0x1000" />
            <thing />
            """) == [
            "3:29: unknown attribute 'colour' on <protection_domain> (known: name, priority, budget, period, passive, stack_size, cpu, fpu, smc, domain)",
            "3:42: priority must be a number (decimal or 0x hexadecimal), not 'x'",
            "5:5: unknown element <tmap> in <protection_domain> (known: program_image, map, irq, ioport, setvar, protection_domain)",
            "7:1: <memory_region> needs the attribute 'name'",
            "8:1: unknown element <thing> in <system> (known: protection_domain, memory_region, channel)",
        ])
        #expect(problems("""
            <protection_domain name="a" priority="255" passive="yes" stack_size="0x1800">
                <program_image path="a.elf" />
            </protection_domain>
            """) == [
            "3:29: priority must be between 0 and 254, not 255",
            "3:44: passive must be 'true' or 'false', not 'yes'",
            "3:58: stack_size must be a multiple of 4 KiB between 4 KiB and 16 MiB, not 0x1800",
        ])
    }

    @Test("SDF0004 duplicate names, a missing or second program image, an image not on the search path")
    func namesAndImages() {
        #expect(problems("""
            <memory_region name="m" size="0x1000" />
            <memory_region name="m" size="0x1000" />
            <protection_domain name="a"><program_image path="a.elf" /></protection_domain>
            <protection_domain name="a"><program_image path="b.elf" /></protection_domain>
            <protection_domain name="b" />
            <protection_domain name="c"><program_image path="a.elf" /><program_image path="b.elf" /></protection_domain>
            <protection_domain name="d"><program_image path="nowhere.elf" /></protection_domain>
            """) == [
            "4:16: duplicate memory region name 'm' (first at 3:1)",
            "6:20: duplicate protection domain name 'a' (first at 5:1)",
            "7:1: protection domain 'b' needs a <program_image>",
            "8:59: protection domain 'c' has more than one <program_image>",
            "9:44: program image 'nowhere.elf' not found (searched \(Self.images))",
        ])
    }

    @Test("SDF0005 maps: unknown region, misaligned, bad perms, overlapping; memory region sizes and page sizes")
    func maps() {
        #expect(problems("""
            <memory_region name="m" size="0x2000" />
            <memory_region name="l" size="0x1000" page_size="0x200000" />
            <memory_region name="p" size="0x3000" page_size="0x3000" />
            <memory_region name="q" size="0x1000" phys_addr="0x1800" />
            <protection_domain name="a">
                <program_image path="a.elf" />
                <map mr="n" vaddr="0x1000000" />
                <map mr="m" vaddr="0x1000800" />
                <map mr="m" vaddr="0x1000000" perms="rq" />
                <map mr="m" vaddr="0x1000000" perms="rx" />
                <map mr="m" vaddr="0x1001000" />
            </protection_domain>
            """) == [
            "4:25: size 0x1000 is not a positive multiple of the page size 0x200000",
            "5:39: page_size must be 0x1000 or 0x200000 on x86-64, not 0x3000",
            "6:39: phys_addr 0x1800 is not aligned to the page size 0x1000",
            "9:10: map of unknown memory region 'n' (memory regions: m)",
            "10:17: vaddr 0x1000800 is not aligned to 'm''s page size 0x1000",
            "11:35: perms must be a combination of r, w and x (not w alone), not 'rq'",
            "13:5: map of 'm' at 0x1001000-0x1003000 overlaps the map of 'm' at 0x1000000-0x1002000 (at 12:5)",
        ])
    }

    @Test("SDF0006 channels: two ends of known PDs, ids 0-61 unique per PD (IRQs too), PP only to a higher priority")
    func channels() {
        let pds = """
            <protection_domain name="low" priority="10"><program_image path="a.elf" /><irq id="3" pin="4" vector="4" /></protection_domain>
            <protection_domain name="high" priority="20"><program_image path="a.elf" /></protection_domain>
            <protection_domain name="same" priority="20"><program_image path="a.elf" /></protection_domain>
            """
        #expect(problems(pds + """

            <channel><end pd="low" id="1" pp="true" /><end pd="high" id="1" /></channel>
            <channel><end pd="high" id="2" pp="true" /><end pd="low" id="2" /></channel>
            <channel><end pd="high" id="3" pp="true" /><end pd="same" id="3" /></channel>
            <channel><end pd="low" id="3" /><end pd="ghost" id="4" /></channel>
            <channel><end pd="low" id="62" /><end pd="high" id="4" /></channel>
            <channel><end pd="low" id="5" /></channel>
            <channel><end pd="low" id="6" /><end pd="low" id="7" /></channel>
            <channel><end pd="high" id="1" /><end pd="same" id="8" /></channel>
            """) == [
            "7:10: 'high' (priority 20) makes protected procedure calls to 'low' (priority 10): the callee's priority must be higher",
            "8:10: 'high' (priority 20) makes protected procedure calls to 'same' (priority 20): the callee's priority must be higher",
            "9:38: channel end names unknown protection domain 'ghost' (protection domains: low, high, same)",
            "10:24: id must be between 0 and 61, not 62",
            "11:1: a channel has exactly two <end>s, not 1",
            "12:1: a channel connects two different protection domains, not 'low' with itself",
            "13:10: id 1 of protection domain 'high' is already used (at 6:43)",
        ])
    }

    @Test("SDF0007 IRQs and I/O ports: x86-64's pin and vector, lines and port ranges owned once, what umk's machine lacks")
    func devices() {
        #expect(problems("""
            <protection_domain name="a">
                <program_image path="a.elf" />
                <irq id="0" pin="4" vector="4" />
                <irq id="1" pin="20" vector="5" />
                <irq id="2" irq="7" />
                <irq id="3" pcidev="01:1f.2" handle="1" vector="9" />
                <ioport id="0" addr="0x3f8" size="8" />
                <ioport id="0" addr="0x60" size="1" />
                <ioport id="1" addr="0xfffe" size="4" />
            </protection_domain>
            <protection_domain name="b">
                <program_image path="a.elf" />
                <irq id="0" pin="4" vector="4" />
                <ioport id="0" addr="0x3fc" size="8" />
                <virtual_machine name="vm" />
            </protection_domain>
            """) == [
            "6:17: pin 20: umk's machine has the PC's IRQ lines 0-15 on IOAPIC pins 0-15",
            "7:17: irq: on x86-64 an interrupt is an IOAPIC 'pin' (with a 'vector'), not an 'irq' number",
            "8:17: MSI interrupts (pcidev, handle): umk's machine has no PCI devices",
            "10:13: I/O port id 0 of 'a' is already used (at 9:5)",
            "11:34: ports 0xfffe + 4 run past the last port 0xffff",
            "15:5: IRQ pin 4 is already 'a''s (at 5:5)",
            "16:5: ports 0x3fc-0x403 overlap 'a''s 0x3f8-0x3ff (at 9:5)",
            "17:5: <virtual_machine>: umk runs no virtual machines (no VT-x)",
        ])
    }

    @Test("SDF0008 child PDs: ids unique within the parent; setvar needs a region with a physical address")
    func children() {
        #expect(problems("""
            <memory_region name="m" size="0x1000" />
            <protection_domain name="p" priority="100">
                <program_image path="a.elf" />
                <setvar symbol="x" region_paddr="m" />
                <setvar symbol="y" region_paddr="n" />
                <protection_domain name="c1" id="1"><program_image path="a.elf" /></protection_domain>
                <protection_domain name="c2" id="1"><program_image path="a.elf" /></protection_domain>
                <protection_domain name="c3"><program_image path="a.elf" /></protection_domain>
            </protection_domain>
            """) == [
            "6:24: region_paddr: memory region 'm' has no phys_addr (on x86-64 it must state one)",
            "7:24: region_paddr names unknown memory region 'n'",
            "9:34: child id 1 of 'p' is already 'c1''s (at 8:5)",
            "10:5: <protection_domain> needs the attribute 'id'",
        ])
    }

    @Test("SDF0009 what umk's machine cannot give, at its place: domains, other cores and IOAPICs, SMC, extra CSpace caps; a system without PDs")
    func machineLimits() {
        #expect(problems("""
            <domains><domain name="d" /><domain_schedule /></domains>
            <protection_domain name="a" cpu="1" domain="d" smc="true">
                <program_image path="a.elf" />
                <irq id="0" pin="4" vector="4" ioapic="1" />
                <cspace><cap_tcb slot="1" pd="a" /></cspace>
            </protection_domain>
            """) == [
            "3:1: <domains>: umk's kernel has one scheduling domain (no domain schedule)",
            "4:29: cpu: umk runs every PD on one core (cpu 0)",
            "4:37: domain: umk's kernel has one scheduling domain",
            "4:48: smc: SMC calls are ARM only",
            "6:36: ioapic: umk's machine has one IOAPIC (0)",
            "7:5: <cspace>: extra capabilities are not supported by umk yet",
        ])
        #expect(problems("<!-- nothing -->") == ["2:1: the system has no protection domains"])
    }
}
