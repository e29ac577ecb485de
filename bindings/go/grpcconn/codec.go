package grpcconn

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// codec marshals a call's messages: grpc-go's codecs of both generations behind one
// interface.
//
// The library always sends content-type application/grpc (it does not let a call change
// it); that is what grpc-go sends for the proto codec too. A call with another codec
// (grpc.ForceCodec, grpc.CallContentSubtype) has its messages marshalled by that codec,
// but the server sees application/grpc, not application/grpc+NAME.
type codec interface {
	// marshal returns the encoding of v and a function that releases it (the library
	// copies the bytes during the send; call release after it).
	marshal(v any) (data []byte, release func(), err error)
	unmarshal(data []byte, v any) error
}

func noRelease() {}

// codecV1 is an encoding.Codec, or a grpc.Codec of grpc.CallCustomCodec.
type codecV1 struct {
	c interface {
		Marshal(v any) ([]byte, error)
		Unmarshal(data []byte, v any) error
	}
}

func (c codecV1) marshal(v any) ([]byte, func(), error) {
	data, err := c.c.Marshal(v)
	return data, noRelease, err
}

func (c codecV1) unmarshal(data []byte, v any) error { return c.c.Unmarshal(data, v) }

// codecV2 is an encoding.CodecV2 (the proto codec is one).
type codecV2 struct{ c encoding.CodecV2 }

func (c codecV2) marshal(v any) ([]byte, func(), error) {
	bufs, err := c.c.Marshal(v)
	if err != nil {
		return nil, noRelease, err
	}
	if len(bufs) == 1 {
		// The usual case (the proto codec marshals into one buffer, pooled when large):
		// the library reads it in place, then it goes back to its pool.
		return bufs[0].ReadOnlyData(), bufs.Free, nil
	}
	out := bufs.Materialize()
	bufs.Free()
	return out, noRelease, nil
}

func (c codecV2) unmarshal(data []byte, v any) error {
	return c.c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, v)
}

// codecFor returns the codec registered for a content-subtype, as grpc-go looks it up
// (encoding.Codec first, then encoding.CodecV2), or nil.
func codecFor(subtype string) codec {
	if c := encoding.GetCodec(subtype); c != nil {
		return codecV1{c}
	}
	if c := encoding.GetCodecV2(subtype); c != nil {
		return codecV2{c}
	}
	return nil
}

// protoCodec is grpc-go's default codec (google.golang.org/grpc/encoding/proto), or the
// one an application registered in its place under the name "proto".
func protoCodec() codec {
	if c := codecFor(proto.Name); c != nil {
		return c
	}
	return codecV2{encoding.GetCodecV2(proto.Name)} // registered by encoding/proto's init
}
