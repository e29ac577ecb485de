package org.apache.skywalking.swtls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.function.Executable;

final class Fixtures {
    private Fixtures() {}

    /** A configuration for one backend whose ca folder is {@code caDir}, with a 10 s call timeout. */
    static Config config(String backend, Path caDir) {
        return new Config()
                .set("collector.backend_service", backend)
                .set("agent.ca_dir", caDir.toString())
                .set("collector.grpc_upstream_timeout", "10");
    }

    /** Asserts that {@code call} throws a SwtlsException with this status and a message holding {@code parts}. */
    static SwtlsException assertStatus(int status, Executable call, String... parts) {
        SwtlsException e = assertThrows(SwtlsException.class, call);
        assertEquals(status, e.getStatus(), "status of: " + e.getMessage());
        assertEquals(Swtls.statusName(status), e.getStatusName());
        assertTrue(e.getMessage().startsWith(e.getStatusName() + ": "), e.getMessage());
        for (String p : parts) {
            assertTrue(e.getDetail().contains(p), "message should mention '" + p + "': " + e.getDetail());
        }
        return e;
    }

    /** A SkyWalking InstancePingPkg: field 1 service, field 2 serviceInstance (strings). */
    static byte[] ping(String service, String instance) throws Exception {
        byte[] s = service.getBytes("UTF-8");
        byte[] i = instance.getBytes("UTF-8");
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(0x0a);
        out.write(s.length);
        out.write(s);
        out.write(0x12);
        out.write(i.length);
        out.write(i);
        return out.toByteArray();
    }

    static void assertInvariant(Stats s) {
        assertEquals(s.queued, s.acknowledged + s.droppedQueueFull + s.droppedClosed + s.droppedServerError + s.pending,
                "queued = acknowledged + dropped + pending: " + s);
    }
}
