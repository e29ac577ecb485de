package org.apache.skywalking.swtls.agent;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.skywalking.apm.agent.core.logging.api.ILog;
import org.apache.skywalking.apm.dependencies.io.grpc.CallOptions;
import org.apache.skywalking.apm.dependencies.io.grpc.Channel;
import org.apache.skywalking.apm.dependencies.io.grpc.ClientCall;
import org.apache.skywalking.apm.dependencies.io.grpc.MethodDescriptor;

/**
 * Sits under the agent's decorators, on the swtls channel: a server-streaming or
 * bidirectional method (swtls carries unary and client-streaming calls) still fails with
 * {@code UNIMPLEMENTED} from the channel underneath, and the first call of each such method
 * is also logged as an error, saying which feature will not work, so that it is not only
 * visible as a failed call deep in one client.
 */
final class UnsupportedMethodLog extends Channel {
    private final Channel next;
    private final ILog log;
    private final Set<String> logged = ConcurrentHashMap.newKeySet();

    UnsupportedMethodLog(Channel next, ILog log) {
        this.next = next;
        this.log = log;
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(MethodDescriptor<ReqT, RespT> method,
            CallOptions callOptions) {
        MethodDescriptor.MethodType type = method.getType();
        if (type != MethodDescriptor.MethodType.UNARY && type != MethodDescriptor.MethodType.CLIENT_STREAMING
                && logged.add(method.getFullMethodName())) {
            log.error((Throwable) null,
                    "swtls: /{} is a {} method; swtls carries unary and client-streaming calls only, so its calls"
                            + " fail with UNIMPLEMENTED and the agent feature that uses it does not work over"
                            + " swtls (logged once)",
                    method.getFullMethodName(), type);
        }
        return next.newCall(method, callOptions);
    }

    @Override
    public String authority() {
        return next.authority();
    }
}
