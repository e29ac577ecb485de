package org.apache.skywalking.swtls.agent;

import org.apache.skywalking.apm.agent.core.logging.api.ILog;
import org.apache.skywalking.swtls.LogLevel;
import org.apache.skywalking.swtls.LogListener;

/**
 * Routes the swtls library's log (TLS mode and why, handshake failures, backend switches,
 * certificate rotation) into the agent's logger, prefixed {@code swtls:}. The library never
 * puts keys or tokens into its messages.
 */
final class AgentLogListener implements LogListener {
    private final ILog log;

    AgentLogListener(ILog log) {
        this.log = log;
    }

    /** The most verbose level the agent's logger writes, so the library formats nothing that is thrown away. */
    LogLevel maxLevel() {
        if (log.isDebugEnable()) {
            return LogLevel.DEBUG;
        }
        if (log.isInfoEnable()) {
            return LogLevel.INFO;
        }
        if (log.isWarnEnable()) {
            return LogLevel.WARN;
        }
        return LogLevel.ERROR;
    }

    @Override
    public void log(LogLevel level, String message) {
        // ILog formats "{}" placeholders: the message goes in as an argument, never as the format.
        switch (level) {
            case ERROR:
                log.error((Throwable) null, "swtls: {}", message);
                break;
            case WARN:
                log.warn("swtls: {}", message);
                break;
            case INFO:
                log.info("swtls: {}", message);
                break;
            default:
                log.debug("swtls: {}", message);
                break;
        }
    }
}
