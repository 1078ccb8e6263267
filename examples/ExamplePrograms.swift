// SPDX-License-Identifier: Apache-2.0
//
// The example systems' programs, registered by the names their manifests use.

import Servers

/// Registers every example program with the program registry.
public enum ExamplePrograms {
    public static func register() {
        ProgramRegistry.register("hello", Hello.main)
        ProgramRegistry.register("ping", PingPong.ping)
        ProgramRegistry.register("pong", PingPong.pong)
        ProgramRegistry.register("heap-worker", PagerDemo.worker)
        ProgramRegistry.register("wild-pointer", PagerDemo.wild)
        ProgramRegistry.register("echo-server", NameLookup.echoServer)
        ProgramRegistry.register("echo-client", NameLookup.client)
        ProgramRegistry.register("sleeper", TimerDemo.sleeper)
        ProgramRegistry.register("c-echo-swift-client", CEcho.swiftClient)
        ProgramRegistry.register("host-call", HostCalls.attempt)
        ProgramRegistry.register("stack-overflow", Crashes.deep)
        ProgramRegistry.register("swift-trap", Crashes.trap)
        ProgramRegistry.register("ring-driver", RingDriver.main)
        City.register()
    }
}
