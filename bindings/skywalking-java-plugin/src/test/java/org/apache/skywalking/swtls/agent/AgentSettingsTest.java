package org.apache.skywalking.swtls.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.skywalking.apm.dependencies.io.grpc.Status;
import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.SwtlsException;
import org.apache.skywalking.swtls.TlsMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the agent's settings become swtls's, and what swtls makes of them for an agent folder. */
class AgentSettingsTest {
    @TempDir
    Path tmp;

    private static Map<String, String> settings(File agent, String ca, String cert, String key, String token) {
        return AgentSettings.settings(agent, "oap-1:11800,oap-2:11800", false, ca, cert, key, token, 30, 20);
    }

    @Test
    void theAgentsDefaultsLeaveTheFilesToTheAgentsCaFolder() {
        File agent = tmp.toFile();
        Map<String, String> expected = new LinkedHashMap<String, String>();
        expected.put("swtls.default_ca_dir", new File(agent, "ca").getPath());
        expected.put("collector.backend_service", "oap-1:11800,oap-2:11800");
        expected.put("agent.force_tls", "false");
        expected.put("collector.grpc_upstream_timeout", "30");
        expected.put("collector.grpc_channel_check_interval", "20");
        // agent.config writes /ca/ca.crt; Config's own default is ca/ca.crt; the client files are empty.
        assertEquals(expected, settings(agent, "/ca/ca.crt", "", "", ""));
        assertEquals(expected, settings(agent, "ca/ca.crt", null, null, null));
        assertEquals(expected, settings(agent, " ca\\ca.crt ", "/ca/client.crt", "ca/client.pem", ""));
    }

    @Test
    void otherPathsAreExplicitAndResolvedAgainstTheAgentFolderAsTheAgentDoes() {
        File agent = tmp.toFile();
        Map<String, String> s = settings(agent, "/certs/oap-ca.crt", "ca/agent.crt", "ca/agent.der", "tok-1");
        assertEquals(new File(agent, "certs/oap-ca.crt").getPath(), s.get("agent.ssl_trusted_ca_path"));
        assertEquals(new File(agent, "ca/agent.crt").getPath(), s.get("agent.ssl_cert_chain_path"));
        assertEquals(new File(agent, "ca/agent.der").getPath(), s.get("agent.ssl_key_path"));
        assertEquals("tok-1", s.get("agent.authentication"));
    }

    @Test
    void swtlsTakesTheSettingsAndDecidesTheModeFromTheAgentFolder() throws Exception {
        // No ca/ folder at all: plaintext, as the agent does without ca/ca.crt.
        File agent = tmp.resolve("agent").toFile();
        assertTrue(agent.mkdirs());
        try (Channel ch = new Channel(new Config().setAll(settings(agent, "/ca/ca.crt", "", "", "")))) {
            assertEquals(TlsMode.PLAINTEXT, ch.tlsMode());
        }
        // With force_tls: TLS with the system roots.
        Map<String, String> forced =
                AgentSettings.settings(agent, "oap:11800", true, "/ca/ca.crt", "", "", "", 30, 30);
        try (Channel ch = new Channel(new Config().setAll(forced))) {
            assertEquals(TlsMode.TLS_SYSTEM_ROOTS, ch.tlsMode());
        }
        // An explicit key path that is not there: refused, naming the key and the file (fail closed).
        Files.createDirectories(agent.toPath().resolve("ca"));
        final Map<String, String> missing = settings(agent, "/ca/ca.crt", "", "ca/agent.der", "");
        SwtlsException e = assertThrows(SwtlsException.class, () -> new Channel(new Config().setAll(missing)));
        assertTrue(e.getMessage().contains("agent.ssl_key_path")
                && e.getMessage().contains(new File(agent, "ca/agent.der").getPath()), e.getMessage());
        // A backend list swtls cannot use is refused too, naming the entry.
        final Map<String, String> badBackend =
                AgentSettings.settings(agent, "oap:11800,oap-2", false, "", "", "", "", 30, 30);
        SwtlsException b = assertThrows(SwtlsException.class, () -> new Config().setAll(badBackend));
        assertTrue(b.getMessage().contains("oap-2"), b.getMessage());
    }

    @Test
    void networkErrorsAreTheOnesTheAgentReconnectsOn() {
        for (Status s : new Status[] {Status.UNAVAILABLE, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED,
            Status.RESOURCE_EXHAUSTED, Status.UNKNOWN}) {
            assertTrue(SwtlsChannelManager.isNetworkError(s.asRuntimeException()), s.toString());
        }
        for (Status s : new Status[] {Status.UNIMPLEMENTED, Status.DEADLINE_EXCEEDED, Status.INVALID_ARGUMENT,
            Status.FAILED_PRECONDITION}) {
            assertFalse(SwtlsChannelManager.isNetworkError(s.asRuntimeException()), s.toString());
        }
        assertFalse(SwtlsChannelManager.isNetworkError(new RuntimeException("UNAVAILABLE")));
        assertFalse(SwtlsChannelManager.isNetworkError(null));
    }
}
