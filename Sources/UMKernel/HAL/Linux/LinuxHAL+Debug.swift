// SPDX-License-Identifier: Apache-2.0
//
// What a debugger reads to find guest threads (CShims debug.c, scripts/umk-gdb.py): where
// RAM is in the host, where the kernel's list of TCBs starts, and where a TCB keeps the
// fields a thread listing shows. Published when a machine is made.

import CShims
import UMKABI

extension LinuxHAL {
    func publishDebugInfo() {
        let g = { (k: PartialKeyPath<KernelGlobals>) in UInt64(MemoryLayout<KernelGlobals>.offset(of: k)!) }
        let t = { (k: PartialKeyPath<TCB>) in UInt64(MemoryLayout<TCB>.offset(of: k)!) }
        var info = umk_debug_info_t()
        info.physmap = unsafe UInt64(UInt(bitPattern: physmap.base))
        info.tcb_list = KernelLayout.globals + g(\.debugTCBHead)
        info.current_thread = KernelLayout.globals + g(\.currentThread)
        info.tcb_next = t(\.debugNext)
        info.tcb_name = t(\.name)
        info.tcb_state = t(\.stateWord)
        info.tcb_priority = t(\.priority)
        info.tcb_registers = t(\.registers)
        info.tcb_next_ip = t(\.nextIP)
        info.tcb_user_entry = t(\.userEntryWord)
        info.tcb_blocking_object = t(\.blockingObject)
        info.tcb_context = t(\.machineArea)
        info.tcb_vspace = t(\.slots) + TCBSlot.vTable.rawValue << ObjectSize.slotBits
        unsafe umk_debug_publish(&info)
    }
}
