// SPDX-License-Identifier: Apache-2.0
//
// The example systems' programs, registered by the names their manifests use.

import Servers

/// Registers every example program with the program registry.
public enum ExamplePrograms {
    public static func register() {
        ProgramRegistry.register("hello", Hello.main)
    }
}
