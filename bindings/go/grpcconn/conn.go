// Package grpcconn puts the swtls Go binding under grpc-go's generated clients: Conn
// implements grpc.ClientConnInterface, so that clients made by protoc-gen-go-grpc (e.g.
// SkyWalking's ManagementServiceClient and TraceSegmentReportServiceClient) make their
// calls through a swtls channel, with its TLS and mTLS, backends, token and timeouts, and
// no grpc-go transport.
//
//	ch, err := swtls.NewChannel(cfg)
//	...
//	conn := grpcconn.New(ch)
//	defer conn.Close()
//	mgmt := agentv3.NewManagementServiceClient(conn)
//	commands, err := mgmt.KeepAlive(ctx, &agentv3.InstancePingPkg{...})
//
// Unary and client-streaming methods are supported; server-streaming and bidirectional
// methods fail with codes.Unimplemented. Contexts work as in grpc-go: the deadline is the
// call's deadline (without one, the channel's collector.grpc_upstream_timeout applies, as
// for every swtls call), cancellation cancels the call, and the outgoing metadata
// (metadata.AppendToOutgoingContext) is sent in addition to the configured token. Errors
// are gRPC status errors (status.Code, status.FromError) that also wrap the cause, a
// *swtls.Error or a context error (errors.As, errors.Is); see the README for the codes.
//
// This package depends on grpc-go only for its interfaces, codecs, metadata and status
// types; the core binding (package swtls) depends on the standard library only.
package grpcconn

import (
	"context"
	"strings"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Conn is a grpc.ClientConnInterface over a swtls channel. It is safe for concurrent use,
// as the channel is.
type Conn struct {
	ch       *swtls.Channel
	defaults []grpc.CallOption
}

var _ grpc.ClientConnInterface = (*Conn)(nil)

// New returns a Conn that makes its calls on ch. defaults are call options applied to
// every call before the call's own (as grpc.WithDefaultCallOptions), e.g.
// grpc.ForceCodecV2. Close closes the channel.
func New(ch *swtls.Channel, defaults ...grpc.CallOption) *Conn {
	return &Conn{ch: ch, defaults: defaults}
}

// Channel returns the swtls channel the Conn uses (for Report, Flush, Stats).
func (c *Conn) Channel() *swtls.Channel { return c.ch }

// Close closes the channel (swtls.Channel.Close: what was reported is delivered first).
// Later calls fail with codes.Canceled, as grpc-go's on a closed ClientConn.
func (c *Conn) Close() error { return c.ch.Close() }

// GetState returns the channel's connectivity state (swtls reports the current backend's).
func (c *Conn) GetState() connectivity.State {
	return connectivity.State(c.ch.Connectivity(false))
}

// Connect makes an idle channel start connecting, in the background.
func (c *Conn) Connect() { c.ch.Connectivity(true) }

// Invoke makes a unary call: it marshals args with the call's codec, sends it with the
// context's deadline and outgoing metadata, and unmarshals the response into reply.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) (err error) {
	call, err := c.newCall(opts)
	if err != nil {
		return err
	}
	defer func() { call.finish(err) }()
	req, release, err := call.codec.marshal(args)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	resp, err := c.ch.UnaryWith(ctx, method, req, outgoing(ctx))
	release()
	if err != nil {
		return toStatus(err)
	}
	if err := call.codec.unmarshal(resp, reply); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return nil
}

// NewStream opens a client-streaming call (desc.ClientStreams, no server stream): see
// ClientStream for how its methods behave. Server-streaming and bidirectional methods
// fail with codes.Unimplemented, naming the method.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if desc != nil && desc.ServerStreams {
		kind := "server-streaming"
		if desc.ClientStreams {
			kind = "bidirectional-streaming"
		}
		return nil, status.Errorf(codes.Unimplemented,
			"swtls: %s is a %s method; swtls makes unary and client-streaming calls only", method, kind)
	}
	call, err := c.newCall(opts)
	if err != nil {
		return nil, err
	}
	s, err := c.ch.OpenStreamWith(ctx, method, outgoing(ctx))
	if err != nil {
		err = toStatus(err)
		call.finish(err)
		return nil, err
	}
	return newClientStream(ctx, s, call), nil
}

// call is what a call takes from its call options.
type call struct {
	codec    codec
	header   []*metadata.MD
	trailer  []*metadata.MD
	onFinish []func(error)
}

// newCall reads the call options: the codec (grpc.ForceCodec, grpc.ForceCodecV2,
// grpc.CallCustomCodec, grpc.CallContentSubtype; proto by default), grpc.Header and
// grpc.Trailer (they receive empty metadata: swtls does not return response metadata)
// and grpc.OnFinish. Other options do not apply to swtls and are ignored.
func (c *Conn) newCall(opts []grpc.CallOption) (*call, error) {
	var forced codec
	subtype := ""
	cl := &call{}
	for _, list := range [][]grpc.CallOption{c.defaults, opts} {
		for _, o := range list {
			switch o := o.(type) {
			case grpc.ForceCodecV2CallOption:
				forced = codecV2{o.CodecV2}
			case grpc.ForceCodecCallOption:
				forced = codecV1{o.Codec}
			case grpc.CustomCodecCallOption:
				forced = codecV1{o.Codec}
			case grpc.ContentSubtypeCallOption:
				subtype = o.ContentSubtype
			case grpc.HeaderCallOption:
				cl.header = append(cl.header, o.HeaderAddr)
			case grpc.TrailerCallOption:
				cl.trailer = append(cl.trailer, o.TrailerAddr)
			case grpc.OnFinishCallOption:
				cl.onFinish = append(cl.onFinish, o.OnFinish)
			}
		}
	}
	switch {
	case forced != nil:
		cl.codec = forced
	case subtype != "":
		cl.codec = codecFor(subtype)
		if cl.codec == nil {
			return nil, status.Errorf(codes.Internal, "grpc: no codec registered for content-subtype %s", subtype)
		}
	default:
		cl.codec = protoCodec()
	}
	for _, h := range cl.header {
		*h = metadata.MD{}
	}
	return cl, nil
}

// finish ends the call: the trailer options receive (empty) metadata, the OnFinish
// functions the call's error.
func (cl *call) finish(err error) {
	for _, t := range cl.trailer {
		*t = metadata.MD{}
	}
	for _, f := range cl.onFinish {
		f(err)
	}
}

// outgoing returns the context's outgoing metadata for the library, without the keys
// grpc-go itself never sends from it (pseudo-headers, content-type, user-agent, te and the
// grpc-* headers of the protocol): grpc-go drops them silently, so does this.
func outgoing(ctx context.Context) swtls.Metadata {
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok || len(md) == 0 {
		return nil
	}
	out := make(swtls.Metadata, len(md))
	for k, v := range md {
		if !reservedHeader(k) {
			out[k] = v
		}
	}
	return out
}

// reservedHeader is grpc-go's list (internal/transport isReservedHeader).
func reservedHeader(key string) bool {
	if strings.HasPrefix(key, ":") {
		return true
	}
	switch key {
	case "content-type", "user-agent", "grpc-message-type", "grpc-encoding", "grpc-message", "grpc-status",
		"grpc-timeout", "te":
		return true
	}
	return false
}
