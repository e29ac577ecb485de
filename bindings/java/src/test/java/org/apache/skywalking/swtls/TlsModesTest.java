package org.apache.skywalking.swtls;

import static org.apache.skywalking.swtls.Fixtures.assertStatus;
import static org.apache.skywalking.swtls.Fixtures.config;
import static org.apache.skywalking.swtls.Fixtures.ping;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Each TLS mode against a grpc-java (Netty) server, and the mismatches between client and server. */
class TlsModesTest {
    @Test
    void plaintext() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.PLAINTEXT);
                Channel ch = new Channel(config(server.address(), certs.agentDir()))) {
            assertEquals(TlsMode.PLAINTEXT, ch.tlsMode());
            assertTrue(ch.tlsReason().contains("ca.crt"), ch.tlsReason());
            byte[] request = ping("svc", "inst@host");
            assertArrayEquals(TestCollector.KEEP_ALIVE_RESPONSE, ch.unary(TestCollector.KEEP_ALIVE, request, 5000));
            assertEquals(1, server.keepAlives.get());
            assertArrayEquals(request, server.keepAliveBodies.peek());
            assertFalse(server.sawTls);
        }
    }

    @Test
    void oneWayTls() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.TLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir("ca.crt")))) {
            assertEquals(TlsMode.TLS, ch.tlsMode());
            assertArrayEquals(TestCollector.KEEP_ALIVE_RESPONSE, ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b")));
            assertTrue(server.sawTls);
            assertNull(server.lastClientSubject);
        }
    }

    @Test
    void mutualTls() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir("ca.crt", "client.crt", "client.pem")))) {
            assertEquals(TlsMode.MUTUAL_TLS, ch.tlsMode());
            assertArrayEquals(TestCollector.KEEP_ALIVE_RESPONSE, ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b")));
            assertTrue(server.sawTls);
            assertTrue(server.lastClientSubject.contains("CN=" + TestCerts.CLIENT_NAME), server.lastClientSubject);
            assertEquals(TlsMode.MUTUAL_TLS, ch.stats().tlsMode);
        }
    }

    @Test
    void explicitPathsInsteadOfTheCaFolder() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir())
                        .set("agent.ssl_trusted_ca_path", certs.caCrt.getPath())
                        .set("agent.ssl_cert_chain_path", certs.clientCrt.getPath())
                        .set("agent.ssl_key_path", certs.clientKey.getPath()))) {
            assertEquals(TlsMode.MUTUAL_TLS, ch.tlsMode());
            ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"));
            assertEquals(1, server.keepAlives.get());
        }
    }

    @Test
    void mutualTlsServerRefusesAClientWithoutCertificate() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir("ca.crt")))) {
            assertEquals(TlsMode.TLS, ch.tlsMode());
            SwtlsException e = assertStatus(SwtlsException.TLS_CLIENT_CERT_REQUIRED,
                    () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), 5000));
            assertTrue(e.getDetail().contains(server.address()), e.getDetail());
            assertEquals(0, server.keepAlives.get());
        }
    }

    @Test
    void forceTlsWithoutCaFailsVerificationOfAPrivateCa() throws Exception {
        TestCerts certs = TestCerts.get();
        Path empty = certs.agentDir();
        try (TestCollector server = new TestCollector(TestCollector.Mode.TLS);
                Channel ch = new Channel(config(server.address(), empty).set("agent.force_tls", "true"))) {
            assertEquals(TlsMode.TLS_SYSTEM_ROOTS, ch.tlsMode());
            assertStatus(SwtlsException.TLS_UNKNOWN_ISSUER,
                    () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), 5000), server.address());
            assertEquals(0, server.keepAlives.get());
            assertTrue(ch.stats().connectFailures >= 1);
        }
    }

    @Test
    void plaintextClientAgainstTlsServer() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.TLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir()))) {
            assertEquals(TlsMode.PLAINTEXT, ch.tlsMode());
            assertStatus(SwtlsException.SERVER_REQUIRES_TLS, () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), 5000));
        }
    }

    @Test
    void tlsClientAgainstPlaintextServer() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.PLAINTEXT);
                Channel ch = new Channel(config(server.address(), certs.agentDir("ca.crt")))) {
            assertStatus(SwtlsException.SERVER_NOT_TLS, () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), 5000));
        }
    }

    @Test
    void nameMismatchWithTargetNameOverride() throws Exception {
        TestCerts certs = TestCerts.get();
        try (TestCollector server = new TestCollector(TestCollector.Mode.TLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir("ca.crt"))
                        .set("agent.ssl_target_name_override", "oap.example.com"))) {
            assertStatus(SwtlsException.TLS_NAME_MISMATCH, () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), 5000),
                    "oap.example.com");
        }
        try (TestCollector server = new TestCollector(TestCollector.Mode.TLS);
                Channel ch = new Channel(config(server.address(), certs.agentDir("ca.crt"))
                        .set("agent.ssl_target_name_override", "localhost"))) {
            ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), 5000);
            assertEquals(1, server.keepAlives.get());
        }
    }
}
