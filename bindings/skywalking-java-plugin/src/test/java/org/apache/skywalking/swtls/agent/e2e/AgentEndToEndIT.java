package org.apache.skywalking.swtls.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real SkyWalking Java agent (apm-agent 9.3.0 from Maven Central, laid out as
 * {@code skywalking-agent.jar} in an agent folder) with this plugin in {@code plugins/},
 * against swtls-collector over mutual TLS with a token. The client key is an RSA key in
 * PKCS#1 DER form, which the agent's own TLS code cannot read. A test-only agent plugin
 * ({@link SpanMaker}) makes trace segments.
 *
 * <p>With the plugin: instance properties, keepAlive, JVM metrics, the Start event and
 * segments arrive (the collector refuses any call without the token), and the application's
 * JVM exits by itself when main returns. Without it (same folder, same files): nothing
 * arrives, which shows that swtls did the TLS.
 */
class AgentEndToEndIT {
    static final String TOKEN = "e2e-token-3b9c51";
    static final String SERVICE = "swtls-e2e";

    static Path work;
    static Path certs;
    static CollectorProcess collector;

    @BeforeAll
    static void start() throws Exception {
        work = Paths.get(property("e2e.work"));
        deleteTree(work.toFile());
        Files.createDirectories(work);
        certs = work.resolve("certs");
        run(property("swtls.cli"), "certs", "--out", certs.toString(), "--server-name", "127.0.0.1", "--rsa",
                "--pkcs1", "--client-name", "swtls-e2e-agent");
        collector = new CollectorProcess(work.resolve("port"), property("swtls.collector"), "serve", "--listen",
                "127.0.0.1:0", "--tls-dir", certs.resolve("server").toString(), "--mtls", "--token", TOKEN,
                "--port-file", work.resolve("port").toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (collector != null) {
            collector.stop();
        }
        // The keys do not outlive the test; the logs stay in target/e2e for a failed run.
        if (certs != null) {
            deleteTree(certs.toFile());
        }
    }

    @Test
    void theAgentReportsEverythingOverSwtlsWithMutualTlsATokenAndAPkcs1DerKey() throws Exception {
        String instance = "e2e-swtls";
        Path agent = agentFolder("agent-with-swtls", true);
        AgentRun app = new AgentRun(agent, instance);
        String[] expected = {
            "reportInstanceProperties service=" + SERVICE + " instance=" + instance,
            "keepAlive service=" + SERVICE + " instance=" + instance,
            "jvmMetrics service=" + SERVICE + " instance=" + instance + " metrics=",
            "event name=Start service=" + SERVICE + " instance=" + instance + " layer=GENERAL",
            // SegmentObject: service and instance are fields 4 and 5.
            "segment trace=",
        };
        try {
            for (final String line : expected) {
                boolean seen = collector.waitFor(new Predicate<String>() {
                    @Override
                    public boolean test(String l) {
                        return l.startsWith(line) && (!line.startsWith("segment")
                                || l.endsWith(" service=" + SERVICE + " instance=" + instance));
                    }
                }, 60);
                if (!seen) {
                    fail("the collector did not get '" + line + "' within 60 s; collector:\n" + collector.text()
                            + "\nagent output:\n" + app.output());
                }
            }
        } finally {
            app.finish();
        }
        String log = app.output();
        assertTrue(log.contains("swtls: the agent's channel to 127.0.0.1:" + collector.port + " is swtls (")
                && log.contains("MUTUAL_TLS"), "the agent's log names the swtls channel and its mode:\n" + log);
        // The library's own log went to the agent's logger (here its console).
        assertTrue(log.contains("SwtlsChannelManager : swtls: swtls channel to 127.0.0.1:" + collector.port),
                "the library's log is in the agent's log:\n" + log);
        assertFalse(log.contains(TOKEN), "the token never reaches the log");
        assertEquals(0, app.exitCode, "the application exits by itself with status 0 when main returns:\n" + log);
        String seen = collector.text();
        assertFalse(seen.contains("rejected"), "every call carried the token:\n" + seen);
        assertTrue(seen.contains("tls handshake") && seen.contains("client_cert=yes"),
                "mutual TLS, with the client certificate:\n" + seen);
    }

    @Test
    void theSameSetUpWithoutThePluginSendsNothing() throws Exception {
        String instance = "e2e-stock";
        Path agent = agentFolder("agent-without-swtls", false);
        int handshakesBefore = collector.count("tls handshake peer=");
        AgentRun app = new AgentRun(agent, instance);
        String failure = "Create channel to 127.0.0.1:" + collector.port + " fail";
        try {
            // The stock agent tries as soon as it has booted: wait for its attempt, then a
            // little longer for anything that might still arrive.
            assertTrue(app.waitForOutput(failure, 60), "the stock agent tried to connect:\n" + app.output());
            boolean arrived = collector.waitFor(new Predicate<String>() {
                @Override
                public boolean test(String l) {
                    return l.contains("instance=" + instance);
                }
            }, 3);
            assertFalse(arrived, "without the plugin, nothing may arrive:\n" + collector.text());
        } finally {
            app.finish();
        }
        assertEquals(handshakesBefore, collector.count("tls handshake peer="),
                "no TLS session was made without the plugin:\n" + collector.text());
        String log = app.output();
        assertFalse(log.contains("swtls:") || log.contains("SwtlsChannelManager"),
                "the stock agent ran on its own channel:\n" + log);
        // Its TLS code (grpc-java/Netty) cannot read the key: the channel is never made.
        assertTrue(log.contains("does not contain valid private key"), "the stock agent's failure:\n" + log);
        assertEquals(0, app.exitCode, log);
    }

    // ---- the agent folder ----

    /**
     * An agent folder as the distribution lays it out, with the agent jar from Maven Central:
     * skywalking-agent.jar, config/agent.config (the keys this test needs, with the
     * distribution's SW_* placeholders), plugins/ (the span maker, and the swtls plugin when
     * asked), activations/, and ca/ with ca.crt, client.crt and the key in PKCS#1 DER form.
     */
    static Path agentFolder(String name, boolean withSwtls) throws IOException {
        Path dir = work.resolve(name);
        Files.createDirectories(dir.resolve("plugins"));
        Files.createDirectories(dir.resolve("activations"));
        Files.createDirectories(dir.resolve("config"));
        Files.createDirectories(dir.resolve("ca"));
        Files.copy(Paths.get(property("e2e.agent.jar")), dir.resolve("skywalking-agent.jar"));
        if (withSwtls) {
            Files.copy(Paths.get(property("e2e.plugin.jar")), dir.resolve("plugins/swtls-skywalking-java-plugin.jar"));
        }
        Path classes = Paths.get(property("e2e.test.classes"));
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(dir.resolve("plugins/e2e-span-maker.jar")))) {
            addClass(jar, classes, SpanMaker.class);
            jar.putNextEntry(new JarEntry("META-INF/services/org.apache.skywalking.apm.agent.core.boot.BootService"));
            jar.write((SpanMaker.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
        }
        String config = String.join("\n",
                "agent.service_name=${SW_AGENT_NAME:Your_ApplicationName}",
                "agent.instance_name=${SW_AGENT_INSTANCE_NAME:}",
                "agent.authentication=${SW_AGENT_AUTHENTICATION:}",
                "agent.force_tls=${SW_AGENT_FORCE_TLS:false}",
                "agent.ssl_trusted_ca_path=${SW_AGENT_SSL_TRUSTED_CA_PATH:/ca/ca.crt}",
                "agent.ssl_key_path=${SW_AGENT_SSL_KEY_PATH:}",
                "agent.ssl_cert_chain_path=${SW_AGENT_SSL_CERT_CHAIN_PATH:}",
                "collector.backend_service=${SW_AGENT_COLLECTOR_BACKEND_SERVICES:127.0.0.1:11800}",
                "collector.heartbeat_period=${SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD:30}",
                "logging.level=${SW_LOGGING_LEVEL:INFO}",
                "logging.output=${SW_LOGGING_OUTPUT:FILE}",
                "");
        Files.write(dir.resolve("config/agent.config"), config.getBytes(StandardCharsets.UTF_8));
        Files.copy(certs.resolve("ca/ca.crt"), dir.resolve("ca/ca.crt"));
        Files.copy(certs.resolve("ca/client.crt"), dir.resolve("ca/client.crt"));
        Path key = dir.resolve("ca/client.key");
        Files.write(key, pkcs1Der(certs.resolve("ca/client.pkcs1.pem")));
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        return dir;
    }

    /** The DER bytes of a traditional ("BEGIN RSA PRIVATE KEY") PEM key: PKCS#1 RSAPrivateKey. */
    static byte[] pkcs1Der(Path pem) throws IOException {
        String text = new String(Files.readAllBytes(pem), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN RSA PRIVATE KEY-----";
        String end = "-----END RSA PRIVATE KEY-----";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        assertTrue(b >= 0 && e > b, pem + " is not a PKCS#1 PEM key");
        byte[] der = Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
        // SEQUENCE { INTEGER 0 (version), INTEGER modulus, ... }; PKCS#8 would have a SEQUENCE second.
        int body = (der[1] & 0x80) == 0 ? 2 : 2 + (der[1] & 0x7f);
        assertTrue(der[0] == 0x30 && der[body] == 0x02 && der[body + 1] == 1 && der[body + 2] == 0
                && der[body + 3] == 0x02, "PKCS#1 RSAPrivateKey expected");
        return der;
    }

    static void addClass(JarOutputStream jar, Path classes, Class<?> c) throws IOException {
        String path = c.getName().replace('.', '/') + ".class";
        jar.putNextEntry(new JarEntry(path));
        jar.write(Files.readAllBytes(classes.resolve(path)));
        jar.closeEntry();
    }

    // ---- one run of the application under the agent ----

    static final class AgentRun {
        final Path agent;
        final Path stopFile;
        final Path outputFile;
        final Process process;
        int exitCode = -1;

        AgentRun(Path agent, String instance) throws IOException {
            this.agent = agent;
            this.stopFile = agent.resolve("stop");
            this.outputFile = agent.resolve("output.log");
            Path appJar = agent.resolve("app.jar");
            try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(appJar))) {
                addClass(jar, Paths.get(property("e2e.test.classes")), App.class);
            }
            String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(java, "-javaagent:" + agent.resolve("skywalking-agent.jar"),
                    "-cp", appJar.toString(), App.class.getName(), stopFile.toString());
            Map<String, String> env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("SW_") || k.startsWith("SWTLS_"));
            env.put("SW_AGENT_NAME", SERVICE);
            env.put("SW_AGENT_INSTANCE_NAME", instance);
            env.put("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "127.0.0.1:" + collector.port);
            env.put("SW_AGENT_AUTHENTICATION", TOKEN);
            // Mutual TLS with the key in PKCS#1 DER form; the CA is the default /ca/ca.crt.
            env.put("SW_AGENT_SSL_CERT_CHAIN_PATH", "ca/client.crt");
            env.put("SW_AGENT_SSL_KEY_PATH", "ca/client.key");
            env.put("SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD", "1");
            env.put("SW_LOGGING_OUTPUT", "CONSOLE");
            pb.redirectErrorStream(true).redirectOutput(outputFile.toFile());
            process = pb.start();
        }

        /** Lets main return, then waits for the JVM to exit by itself. */
        void finish() throws Exception {
            Files.write(stopFile, new byte[0]);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                fail("the application's JVM did not exit within 30 s after main returned:\n" + output());
            }
            exitCode = process.exitValue();
        }

        /** Waits until the application's output (the agent's log) contains {@code fragment}. */
        boolean waitForOutput(String fragment, long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!output().contains(fragment)) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    return output().contains(fragment);
                }
                Thread.sleep(100);
            }
            return true;
        }

        String output() throws IOException {
            return new String(Files.readAllBytes(outputFile), StandardCharsets.UTF_8);
        }
    }

    // ---- helpers ----

    static String property(String name) {
        String v = System.getProperty(name, "");
        if (v.isEmpty()) {
            throw new IllegalStateException("system property " + name + " is not set (the pom sets it)");
        }
        return v;
    }

    static void run(String... command) throws Exception {
        File exe = new File(command[0]);
        if (!exe.canExecute()) {
            throw new IllegalStateException(command[0] + " is not an executable; build it first (.ci/test-java.sh"
                    + " builds the swtls tool and swtls-collector)");
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = readAll(p);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n"
                    + new String(out, StandardCharsets.UTF_8));
        }
    }

    static byte[] readAll(Process p) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = p.getInputStream().read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    static void deleteTree(File f) {
        File[] children = f.listFiles();
        if (children != null) {
            for (File c : children) {
                deleteTree(c);
            }
        }
        f.delete();
    }
}
