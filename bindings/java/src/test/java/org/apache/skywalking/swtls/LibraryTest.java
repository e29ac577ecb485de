package org.apache.skywalking.swtls;

import static org.apache.skywalking.swtls.Fixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Loading, the environment, status names and log routing. */
class LibraryTest {
    private static final String NATIVE = System.getProperty("swtls.native.library", "");

    @Test
    void version() {
        assertTrue(Swtls.version().startsWith("swtls/"), Swtls.version());
        assertTrue(Swtls.version().contains("rustls/"), Swtls.version());
    }

    @Test
    void statusConstantsMatchTheLibrary() throws Exception {
        int n = 0;
        for (Field f : SwtlsException.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                assertEquals(f.getName(), Swtls.statusName(f.getInt(null)), "constant " + f.getName());
                n++;
            }
        }
        assertEquals(40, n, "every status but OK has a constant");
        assertEquals("OK", Swtls.statusName(0));
        assertEquals("UNRECOGNIZED", Swtls.statusName(99));
    }

    @Test
    void loadsFromAnExplicitPathOrDirectory() throws Exception {
        assertTrue(new File(NATIVE).isFile(), "swtls.native.library should name the built library: " + NATIVE);
        Subprocess.Result r = Subprocess.run("-Dswtls.library.path=" + NATIVE, "version");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.startsWith("version swtls/"), r.output);

        Map<String, String> env = new HashMap<String, String>();
        env.put(NativeLoader.ENV, new File(NATIVE).getParent());
        r = Subprocess.run(Collections.<String>emptyList(), env, "version");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.startsWith("version swtls/"), r.output);
    }

    @Test
    void environment() throws Exception {
        File empty = TestCerts.get().agentDir().toFile();
        Map<String, String> env = new HashMap<String, String>();
        env.put("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "127.0.0.1:1");
        env.put("SW_AGENT_FORCE_TLS", "true");
        env.put("SWTLS_CA_DIR", empty.getPath());
        Subprocess.Result r = Subprocess.run(Collections.<String>emptyList(), env, "env");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("channel TLS_SYSTEM_ROOTS 127.0.0.1:1"), r.output);

        // A later set overrides the environment.
        r = Subprocess.run(Collections.<String>emptyList(), env, "env", "127.0.0.1:2");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("channel TLS_SYSTEM_ROOTS 127.0.0.1:2"), r.output);

        env.put("SW_AGENT_FORCE_TLS", "maybe");
        r = Subprocess.run(Collections.<String>emptyList(), env, "env");
        assertEquals(1, r.exit, r.output);
        assertTrue(r.output.contains("SwtlsException " + SwtlsException.CONFIG_INVALID_VALUE), r.output);
        assertTrue(r.output.contains("SW_AGENT_FORCE_TLS"), r.output);
        assertTrue(r.output.contains("maybe"), r.output);
    }

    @Test
    void logListener() throws Exception {
        final List<String> messages = Collections.synchronizedList(new ArrayList<String>());
        Swtls.setLogListener(new LogListener() {
            @Override
            public void log(LogLevel level, String message) {
                messages.add(level + " " + message);
                throw new IllegalStateException("a broken listener is ignored");
            }
        }, LogLevel.INFO);
        try {
            try (Channel ch = new Channel(config("127.0.0.1:1", TestCerts.get().agentDir()))) {
                assertEquals(TlsMode.PLAINTEXT, ch.tlsMode());
            }
        } finally {
            Swtls.setLogListener(null, null);
        }
        boolean found = false;
        for (String m : new ArrayList<String>(messages)) {
            found |= m.startsWith("INFO swtls channel to 127.0.0.1:1");
        }
        assertTrue(found, "expected the channel's info line among " + messages);
        int before = messages.size();
        try (Channel ch = new Channel(config("127.0.0.1:1", TestCerts.get().agentDir()))) {
            assertEquals(TlsMode.PLAINTEXT, ch.tlsMode());
        }
        assertEquals(before, messages.size(), "after reset, nothing reaches the old listener");
    }
}
