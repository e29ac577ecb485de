package org.apache.skywalking.swtls;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A channel configuration: the SkyWalking agent's keys (README, "Configuration"), e.g.
 * {@code collector.backend_service}, {@code agent.force_tls}, {@code agent.authentication}.
 *
 * <p>Each setting is checked when it is made: an unknown key or a value that does not parse
 * throws {@link SwtlsException} ({@code CONFIG_UNKNOWN_KEY}, {@code CONFIG_INVALID_VALUE},
 * {@code CONFIG_INVALID_BACKEND}) naming it, and the configuration is unchanged. Settings
 * apply in the order they are made: a later {@link #set} or {@link #loadEnv} overwrites an
 * earlier value of the same key. A {@code Config} holds no native resource; a channel built
 * from it keeps its own copy. Not thread-safe: build it on one thread.
 */
public final class Config {
    /** Triples of kind ("set" or "env"), key or variable name, value: replayed by the native side. */
    private final List<String> entries = new ArrayList<String>();

    public Config() {}

    /** Sets one key, e.g. {@code set("collector.backend_service", "oap:11800")}. Returns this. */
    public Config set(String key, String value) {
        Native.configCheck(key, value);
        Collections.addAll(entries, "set", key, value);
        return this;
    }

    /** Sets every entry of {@code settings} in its iteration order. Returns this. */
    public Config setAll(Map<String, String> settings) {
        for (Map.Entry<String, String> e : settings.entrySet()) {
            set(e.getKey(), e.getValue());
        }
        return this;
    }

    /**
     * Applies the environment variables of the configuration table that are set now
     * ({@code SW_AGENT_COLLECTOR_BACKEND_SERVICES}, {@code SW_AGENT_FORCE_TLS}, ... and
     * {@code SWTLS_CA_DIR}). On error the message names the variable. Returns this.
     */
    public Config loadEnv() {
        String[] vars = Native.configLoadEnv();
        for (int i = 0; i + 1 < vars.length; i += 2) {
            Collections.addAll(entries, "env", vars[i], vars[i + 1]);
        }
        return this;
    }

    /** The defaults with the environment applied: {@code new Config().loadEnv()}. */
    public static Config fromEnvironment() {
        return new Config().loadEnv();
    }

    String[] entries() {
        return entries.toArray(new String[0]);
    }
}
