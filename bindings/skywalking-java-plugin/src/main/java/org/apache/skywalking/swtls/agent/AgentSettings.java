package org.apache.skywalking.swtls.agent;

import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.skywalking.apm.agent.core.conf.Config;

/**
 * The swtls configuration that the agent's own settings mean. The agent has already applied
 * {@code config/agent.config}, its {@code SW_*} placeholders, {@code -Dskywalking.*} and the
 * agent options to {@link Config}: this reads the result, so nothing changes for the user.
 *
 * <ul>
 *   <li>{@code collector.backend_service}: the whole list (swtls fails over, rotates and
 *       re-resolves DNS itself);</li>
 *   <li>{@code agent.force_tls}, {@code agent.authentication},
 *       {@code collector.grpc_upstream_timeout}, {@code collector.grpc_channel_check_interval};</li>
 *   <li>{@code agent.ssl_trusted_ca_path}, {@code agent.ssl_cert_chain_path},
 *       {@code agent.ssl_key_path}: resolved against the agent's folder, as the agent's
 *       {@code TLSChannelBuilder} does ({@code new File(agentFolder, path)}, also for a path
 *       that starts with a slash). An empty path, or the agent's documented default
 *       ({@code ca/ca.crt}, {@code ca/client.crt}, {@code ca/client.pem}, with or without the
 *       leading slash that {@code agent.config} writes), is a <em>default</em> path: swtls
 *       looks for that file in {@code <agent folder>/ca} ({@code swtls.default_ca_dir}), and a
 *       file that is cleanly absent there decides the TLS mode (DESIGN, TLS mode table). Any
 *       other path is explicit: it must exist, or the channel is refused, naming it.</li>
 * </ul>
 */
final class AgentSettings {
    static final String DEFAULT_CA = "ca/ca.crt";
    static final String DEFAULT_CERT = "ca/client.crt";
    static final String DEFAULT_KEY = "ca/client.pem";

    private AgentSettings() {}

    /** The settings from the agent's {@link Config}, for an agent installed in {@code agentFolder}. */
    static Map<String, String> fromAgentConfig(File agentFolder) {
        return settings(agentFolder, Config.Collector.BACKEND_SERVICE, Config.Agent.FORCE_TLS,
                Config.Agent.SSL_TRUSTED_CA_PATH, Config.Agent.SSL_CERT_CHAIN_PATH, Config.Agent.SSL_KEY_PATH,
                Config.Agent.AUTHENTICATION, Config.Collector.GRPC_UPSTREAM_TIMEOUT,
                Config.Collector.GRPC_CHANNEL_CHECK_INTERVAL);
    }

    /**
     * The swtls keys and values, in the order they are to be set. Values are passed as they
     * are: swtls checks each one and names the key of a bad one.
     */
    static Map<String, String> settings(File agentFolder, String backends, boolean forceTls, String caPath,
            String certPath, String keyPath, String token, long upstreamTimeoutSeconds, long checkIntervalSeconds) {
        Map<String, String> s = new LinkedHashMap<String, String>();
        s.put("swtls.default_ca_dir", new File(agentFolder, "ca").getPath());
        s.put("collector.backend_service", backends == null ? "" : backends);
        s.put("agent.force_tls", Boolean.toString(forceTls));
        putPath(s, "agent.ssl_trusted_ca_path", agentFolder, caPath, DEFAULT_CA);
        putPath(s, "agent.ssl_cert_chain_path", agentFolder, certPath, DEFAULT_CERT);
        putPath(s, "agent.ssl_key_path", agentFolder, keyPath, DEFAULT_KEY);
        if (token != null && !token.isEmpty()) {
            s.put("agent.authentication", token);
        }
        s.put("collector.grpc_upstream_timeout", Long.toString(upstreamTimeoutSeconds));
        s.put("collector.grpc_channel_check_interval", Long.toString(checkIntervalSeconds));
        return s;
    }

    private static void putPath(Map<String, String> s, String key, File agentFolder, String value,
            String documentedDefault) {
        if (isDefault(value, documentedDefault)) {
            return; // swtls looks for the default file in swtls.default_ca_dir
        }
        s.put(key, new File(agentFolder, value.trim()).getPath());
    }

    /** Empty, or the agent's default path ({@code ca/ca.crt}, {@code /ca/ca.crt}, with either separator). */
    static boolean isDefault(String value, String documentedDefault) {
        if (value == null || value.trim().isEmpty()) {
            return true;
        }
        String v = value.trim().replace('\\', '/');
        while (v.startsWith("/")) {
            v = v.substring(1);
        }
        return v.equals(documentedDefault);
    }
}
