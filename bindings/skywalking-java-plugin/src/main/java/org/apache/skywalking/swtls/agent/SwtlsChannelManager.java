package org.apache.skywalking.swtls.agent;

import java.io.File;
import java.net.URL;
import java.util.Collections;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.skywalking.apm.agent.core.boot.AgentPackagePath;
import org.apache.skywalking.apm.agent.core.boot.DefaultNamedThreadFactory;
import org.apache.skywalking.apm.agent.core.boot.OverrideImplementor;
import org.apache.skywalking.apm.agent.core.conf.Config;
import org.apache.skywalking.apm.agent.core.logging.api.ILog;
import org.apache.skywalking.apm.agent.core.logging.api.LogManager;
import org.apache.skywalking.apm.agent.core.remote.AgentIDDecorator;
import org.apache.skywalking.apm.agent.core.remote.AuthenticationDecorator;
import org.apache.skywalking.apm.agent.core.remote.GRPCChannelListener;
import org.apache.skywalking.apm.agent.core.remote.GRPCChannelManager;
import org.apache.skywalking.apm.agent.core.remote.GRPCChannelStatus;
import org.apache.skywalking.apm.dependencies.io.grpc.Channel;
import org.apache.skywalking.apm.dependencies.io.grpc.StatusRuntimeException;
import org.apache.skywalking.swtls.Connectivity;
import org.apache.skywalking.swtls.Swtls;
import org.apache.skywalking.swtls.grpc.SwtlsChannel;

/**
 * The agent's gRPC channel, on swtls. The agent loads it from the plugin jar in its
 * {@code plugins/} folder ({@code META-INF/services}) and uses it instead of its own
 * {@link GRPCChannelManager}, which builds a grpc-java/Netty channel.
 *
 * <ul>
 *   <li>Configuration: the agent's own settings, read from its {@link Config} (see
 *       {@link AgentSettings}); nothing new in {@code agent.config}.</li>
 *   <li>One swtls channel for the whole backend list: swtls picks a backend, moves to another
 *       when one fails, re-resolves DNS and re-reads rotated certificate files. The agent's
 *       decorators (the {@code Agent-Version} and {@code Authentication} headers) sit on top of
 *       it, as on the original channel; swtls also sends the token itself (the same value, once).</li>
 *   <li>Listeners: {@code CONNECTED} once the channel is made, as the original does;
 *       {@link #reportError} on UNAVAILABLE, PERMISSION_DENIED, UNAUTHENTICATED,
 *       RESOURCE_EXHAUSTED or UNKNOWN says {@code DISCONNECT}; every
 *       {@code collector.grpc_channel_check_interval} the check asks swtls to connect and says
 *       {@code CONNECTED} again once it is connected (or idle, e.g. after moving to another
 *       backend), as the original does with grpc's connectivity state.</li>
 *   <li>Fails closed: a configuration or certificate problem (a missing client key, a key
 *       that does not match its certificate, a bad backend entry, ...) makes no channel;
 *       the error names the key or file, nothing is sent, and the check tries again every
 *       interval (a fixed file is picked up then).</li>
 *   <li>The library's log goes to the agent's log ({@link AgentLogListener}).</li>
 *   <li>Server-streaming and bidirectional methods fail with UNIMPLEMENTED, logged once per
 *       method ({@link UnsupportedMethodLog}).</li>
 *   <li>Threads: the check runs on a daemon thread, and so do swtls's; the channel is closed
 *       by {@link #shutdown()} (the agent's shutdown hook). Nothing keeps the JVM alive.</li>
 * </ul>
 */
@OverrideImplementor(GRPCChannelManager.class)
public class SwtlsChannelManager extends GRPCChannelManager {
    private static final ILog LOGGER = LogManager.getLogger(SwtlsChannelManager.class);
    /** How long {@link #shutdown()} lets calls in flight finish. */
    private static final long CLOSE_TIMEOUT_MILLIS = 1000;

    /** The agent's folder, which the SSL paths are relative to. */
    private final Callable<File> agentFolder;
    private final List<GRPCChannelListener> listeners =
            Collections.synchronizedList(new LinkedList<GRPCChannelListener>());
    private volatile ScheduledExecutorService checker;
    private volatile org.apache.skywalking.swtls.Channel swtls;
    private volatile Channel channel;
    private volatile boolean reconnect = true;
    private volatile boolean shutDown;
    /** The last reason no channel could be made, so that it is logged as an error once (checker thread only). */
    private String lastFailure;

    /** The agent creates it (ServiceLoader); the agent's folder is where skywalking-agent.jar is. */
    public SwtlsChannelManager() {
        this(AgentPackagePath::getPath);
    }

    /** With another agent folder (tests). */
    SwtlsChannelManager(Callable<File> agentFolder) {
        this.agentFolder = agentFolder;
    }

    @Override
    public void prepare() {}

    @Override
    public void boot() {
        if (Config.Collector.BACKEND_SERVICE.trim().length() == 0) {
            LOGGER.error("Collector server addresses are not set.");
            LOGGER.error("Agent will not uplink any data.");
            return;
        }
        AgentLogListener logs = new AgentLogListener(LOGGER);
        try {
            Swtls.setLogListener(logs, logs.maxLevel()); // loads the native library
        } catch (Throwable t) {
            LOGGER.error(t, "swtls: the swtls library could not be loaded; the agent will not send anything.");
            return;
        }
        warnIfBindingIsShared();
        ScheduledThreadPoolExecutor executor =
                new ScheduledThreadPoolExecutor(1, new DefaultNamedThreadFactory("SwtlsChannelManager"));
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        checker = executor;
        executor.scheduleAtFixedRate(this, 0, Config.Collector.GRPC_CHANNEL_CHECK_INTERVAL, TimeUnit.SECONDS);
    }

    @Override
    public void onComplete() {}

    @Override
    public void shutdown() {
        org.apache.skywalking.swtls.Channel ch;
        synchronized (this) {
            shutDown = true;
            ch = swtls;
        }
        ScheduledExecutorService c = checker;
        if (c != null) {
            c.shutdownNow();
        }
        if (ch != null) {
            try {
                ch.close(CLOSE_TIMEOUT_MILLIS);
            } catch (RuntimeException e) {
                LOGGER.warn(e, "swtls: closing the channel: {}", e.getMessage());
            }
        }
        LOGGER.debug("swtls channel shut down.");
    }

    /** The channel check, every {@code collector.grpc_channel_check_interval}. */
    @Override
    public void run() {
        try {
            if (shutDown) {
                return;
            }
            if (swtls == null) {
                open();
            } else if (reconnect) {
                checkReconnected();
            }
        } catch (Throwable t) {
            LOGGER.error(t, "swtls: unexpected exception in the channel check.");
        }
    }

    private void open() {
        org.apache.skywalking.swtls.Channel ch;
        try {
            Map<String, String> settings = AgentSettings.fromAgentConfig(agentFolder.call());
            ch = new org.apache.skywalking.swtls.Channel(new org.apache.skywalking.swtls.Config().setAll(settings));
        } catch (Exception e) {
            String why = String.valueOf(e.getMessage());
            if (!why.equals(lastFailure)) {
                lastFailure = why;
                LOGGER.error((Throwable) null,
                        "swtls: no channel to {}: {}. Nothing is sent until this is fixed; checked again every {} s.",
                        Config.Collector.BACKEND_SERVICE, why, Config.Collector.GRPC_CHANNEL_CHECK_INTERVAL);
            } else {
                LOGGER.debug("swtls: still no channel to {}: {}", Config.Collector.BACKEND_SERVICE, why);
            }
            return;
        }
        // SwtlsChannel extends io.grpc.Channel in its own jar; in this plugin jar it is
        // relocated onto the agent's grpc and extends the Channel used here.
        Channel c = (Channel) (Object) new SwtlsChannel(ch);
        c = new UnsupportedMethodLog(c, LOGGER);
        c = new AgentIDDecorator().build(c);
        c = new AuthenticationDecorator().build(c);
        synchronized (this) {
            if (shutDown) {
                ch.close(CLOSE_TIMEOUT_MILLIS);
                return;
            }
            channel = c;
            swtls = ch;
        }
        lastFailure = null;
        // The library has logged the mode and why at info level already.
        LOGGER.info("swtls: the agent's channel to {} is swtls ({}, {})", Config.Collector.BACKEND_SERVICE,
                Swtls.version(), ch.tlsMode());
        connected();
    }

    /**
     * After a DISCONNECT: asks swtls to connect (from TRANSIENT_FAILURE too, at most once a
     * second) and says CONNECTED once it is connected, or idle (nothing known to fail, e.g.
     * after moving to another backend). No client call is sent into a backend that is down.
     */
    private void checkReconnected() {
        Connectivity state = swtls.connectivity(true);
        if (state == Connectivity.READY || state == Connectivity.IDLE) {
            connected();
        } else {
            LOGGER.debug("swtls: the channel is {}; the listeners wait for the next check.", state);
        }
    }

    private void connected() {
        reconnect = false;
        notify(GRPCChannelStatus.CONNECTED);
    }

    @Override
    public void addChannelListener(GRPCChannelListener listener) {
        listeners.add(listener);
    }

    @Override
    public Channel getChannel() {
        return channel;
    }

    /** A network error (as the agent's original defines it) makes the listeners stop until the next check. */
    @Override
    public void reportError(Throwable throwable) {
        if (isNetworkError(throwable)) {
            reconnect = true;
            notify(GRPCChannelStatus.DISCONNECT);
        }
    }

    private void notify(GRPCChannelStatus status) {
        GRPCChannelListener[] all;
        synchronized (listeners) {
            all = listeners.toArray(new GRPCChannelListener[0]);
        }
        for (GRPCChannelListener listener : all) {
            try {
                listener.statusChanged(status);
            } catch (Throwable t) {
                LOGGER.error(t, "Fail to notify {} about channel connected.", listener.getClass().getName());
            }
        }
    }

    static boolean isNetworkError(Throwable throwable) {
        if (!(throwable instanceof StatusRuntimeException)) {
            return false;
        }
        switch (((StatusRuntimeException) throwable).getStatus().getCode()) {
            case UNAVAILABLE:
            case PERMISSION_DENIED:
            case UNAUTHENTICATED:
            case RESOURCE_EXHAUSTED:
            case UNKNOWN:
                return true;
            default:
                return false;
        }
    }

    /**
     * The agent's class loader asks the application's class path first: when that holds a
     * swtls jar too, its binding classes serve this plugin. Say so, with the version in use.
     */
    private void warnIfBindingIsShared() {
        ClassLoader own = SwtlsChannelManager.class.getClassLoader();
        ClassLoader binding = org.apache.skywalking.swtls.Channel.class.getClassLoader();
        if (binding == own) {
            return;
        }
        URL where = binding == null ? null : binding.getResource("org/apache/skywalking/swtls/Channel.class");
        LOGGER.warn("swtls: the swtls binding classes come from the application's class path ({}), not from this"
                + " plugin, and the plugin uses them ({}). Keep that swtls jar at the plugin's version, or take it off"
                + " the class path the agent's jar is on.", where, Swtls.version());
    }
}
