package org.apache.skywalking.swtls;

/** Severity of a library log message. */
public enum LogLevel {
    ERROR(1),
    WARN(2),
    INFO(3),
    DEBUG(4);

    final int code;

    LogLevel(int code) {
        this.code = code;
    }

    static LogLevel of(int code) {
        for (LogLevel l : values()) {
            if (l.code == code) {
                return l;
            }
        }
        return ERROR;
    }
}
