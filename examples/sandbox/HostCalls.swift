// SPDX-License-Identifier: Apache-2.0
//
// sandbox: guests that try what a guest must not do to the process it shares with umk —
// open a file, make a socket, fork, run a program, signal umk's parent, trace, make heap
// memory executable, take one of umk's signals, end or abort the process. Each host
// syscall is refused by umk's sandbox and becomes a fault that init reports; ping and pong
// go on beside them.

import Glibc
import Servers
import UMKGuest

enum HostCalls {
    /// glibc's syscall(2), which Swift cannot call directly (it is variadic); integer
    /// arguments pass the same way to it through a fixed signature on x86-64.
    typealias RawSyscall = @convention(c) (Int, Int, Int, Int) -> Int

    static let attempt: Program = { info in
        let what = info.args.first ?? ""
        debugPrint("\(info.name): trying \(what)\n")
        let result: Int
        switch what {
        case "open": result = Int(unsafe open("/etc/hostname", O_RDONLY))
        case "socket": result = Int(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0))
        case "fork": result = Int(fork())
        case "execve":
            var argv: [UnsafeMutablePointer<CChar>?] = unsafe [strdup("/bin/true"), nil]
            let environment = unsafe environ
            result = Int(unsafe execve("/bin/true", &argv, environment))
        case "kill": result = Int(kill(getppid(), SIGTERM))
        case "ptrace":
            let syscall = unsafe unsafeBitCast(dlsym(nil, "syscall"), to: RawSyscall.self)
            result = syscall(101 /* ptrace on x86-64 */, 0 /* PTRACE_TRACEME */, 0, 0)
        case "mprotect-exec":
            var page: UnsafeMutableRawPointer?
            guard unsafe posix_memalign(&page, 4096, 4096) == 0, let page = unsafe page else { return 1 }
            result = Int(unsafe mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC))
        case "sigaction":
            var action = sigaction()
            unsafe action.__sigaction_handler.sa_handler = SIG_IGN
            result = Int(unsafe sigaction(SIGUSR1, &action, nil))
        case "exit": exit(0)
        case "abort": abort()
        default:
            debugPrint("\(info.name): nothing to try as '\(what)'\n")
            return 2
        }
        debugPrint("\(info.name): \(what) returned \(result): the sandbox did not refuse it\n")
        return 1
    }
}
