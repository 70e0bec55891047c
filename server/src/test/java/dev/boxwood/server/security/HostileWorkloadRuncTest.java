package dev.boxwood.server.security;

import dev.boxwood.server.runtime.Criu;
import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.OciRuntime;
import dev.boxwood.server.runtime.RuncRuntime;

/** The hostile suite on runc, the runtime that can checkpoint sandboxes to disk. */
class HostileWorkloadRuncTest extends HostileWorkloadTest {
    @Override
    OciRuntime runtime(CrunRuntime.Config config) {
        return new RuncRuntime(config, Criu.find().orElseThrow(() -> new AssertionError(
                "CRIU " + Criu.VERSION + " is missing: bin/test builds it (ensure_criu in bin/common.sh)")), 1L << 30);
    }

    @Override
    String binary() {
        return "runc";
    }
}
