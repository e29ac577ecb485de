//! A tonic codec for raw bytes: agents encode their own protobuf messages.

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// What a client stream sends: a message, or (when the caller abandons the stream) a
/// cancellation that makes the transport reset the stream instead of ending it cleanly.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Message(Bytes),
    Cancel,
}

/// The codec of client streams: raw bytes out, raw bytes in, and [`Outgoing::Cancel`]
/// turned into an encoding error (which resets the HTTP/2 stream).
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamCodec;

impl Codec for StreamCodec {
    type Encode = Outgoing;
    type Decode = Bytes;
    type Encoder = StreamCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        StreamCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for StreamCodec {
    type Item = Outgoing;
    type Error = Status;
    fn encode(&mut self, item: Outgoing, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        match item {
            Outgoing::Message(b) => {
                dst.put(b);
                Ok(())
            }
            Outgoing::Cancel => Err(Status::cancelled("the client abandoned the stream")),
        }
    }
}
