package consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.Swtls;
import org.apache.skywalking.swtls.TlsMode;
import org.junit.jupiter.api.Test;

/**
 * What an application that depends on the installed swtls jar does: configure from the
 * environment, as a SkyWalking agent is, and make a keepAlive over mutual TLS. The collector,
 * its certificates and the agent's names come from .ci/test-java.sh.
 */
class KeepAliveTest {
    static final String KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive";

    @Test
    void keepAliveOverMutualTlsWithTheInstalledJarAlone() throws Exception {
        // Nothing points the binding at a library outside the jar.
        assertNull(System.getenv("SWTLS_LIBRARY"), "SWTLS_LIBRARY must not be set");
        assertNull(System.getProperty("swtls.library.path"), "swtls.library.path must not be set");
        // The binding comes from the local repository it was installed into.
        Path repository = Paths.get(System.getProperty("consumer.repository")).toRealPath();
        Path jar = Paths.get(Swtls.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toRealPath();
        assertTrue(jar.startsWith(repository) && jar.toString().endsWith(".jar"),
                "swtls classes from " + jar + ", expected a jar in " + repository);

        String service = System.getenv("SW_AGENT_NAME");
        String instance = System.getenv("SW_AGENT_INSTANCE_NAME");
        assertNotNull(service, "SW_AGENT_NAME");
        assertNotNull(instance, "SW_AGENT_INSTANCE_NAME");
        try (Channel channel = new Channel(Config.fromEnvironment())) {
            assertEquals(TlsMode.MUTUAL_TLS, channel.tlsMode(), channel.tlsReason());
            byte[] commands = channel.unary(KEEP_ALIVE, instancePing(service, instance), 10000);
            assertNotNull(commands);
        }
        System.out.println("keepAlive over " + TlsMode.MUTUAL_TLS + " with " + Swtls.version() + " from " + jar);

        // The library in this process is the one the loader extracted from the jar.
        if (new File("/proc/self/maps").isFile()) {
            List<String> mapped = new ArrayList<String>();
            for (String line : Files.readAllLines(Paths.get("/proc/self/maps"), StandardCharsets.UTF_8)) {
                if (line.endsWith("/libswtls.so") && !mapped.contains(line.substring(line.indexOf('/')))) {
                    mapped.add(line.substring(line.indexOf('/')));
                }
            }
            assertEquals(1, mapped.size(), "libswtls.so mapped from: " + mapped);
            Path lib = Paths.get(mapped.get(0));
            Path tmp = Paths.get(System.getProperty("java.io.tmpdir")).toRealPath();
            assertTrue(lib.getParent().getFileName().toString().startsWith("swtls-")
                    && lib.getParent().getParent().equals(tmp), "libswtls.so mapped from " + lib);
        }
    }

    /** skywalking.v3.InstancePingPkg: service = 1, serviceInstance = 2 (length-delimited strings). */
    static byte[] instancePing(String service, String instance) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        field(out, 1, service.getBytes(StandardCharsets.UTF_8));
        field(out, 2, instance.getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    static void field(ByteArrayOutputStream out, int number, byte[] value) {
        varint(out, (number << 3) | 2);
        varint(out, value.length);
        out.write(value, 0, value.length);
    }

    static void varint(ByteArrayOutputStream out, int v) {
        while ((v & ~0x7F) != 0) {
            out.write((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }
}
