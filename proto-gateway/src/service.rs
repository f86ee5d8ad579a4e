//! The gRPC method Exotel calls: decode by descriptor, store durably, ack.
//!
//! The route is mounted at the path the compiled contract names, with a
//! pass-through codec (bytes in, bytes out); [`crate::convert`] does the
//! protobuf work, so no generated code is involved.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, UnaryService};
use tonic::service::Routes;
use tonic::{Code, Status};

use crate::convert::EventSchema;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::replica::{Acked, EdgeStore};
use crate::store::{Appended, Outbox};

/// Accepts events: the state behind the RPC route.
#[derive(Clone)]
pub struct EventService {
    schema: Arc<EventSchema>,
    outbox: Outbox,
    metrics: Arc<Metrics>,
    max_message_bytes: usize,
    /// Edge-store mode: acknowledge once the edge stored the event.
    edge: Option<EdgeStore>,
}

impl EventService {
    /// A service storing into `outbox`, or at the edge first when `edge`
    /// is given (edge-store mode).
    pub fn new(
        schema: Arc<EventSchema>,
        outbox: Outbox,
        metrics: Arc<Metrics>,
        max_message_bytes: usize,
        edge: Option<EdgeStore>,
    ) -> EventService {
        EventService {
            schema,
            outbox,
            metrics,
            max_message_bytes,
            edge,
        }
    }

    /// The gRPC routes: the configured method, and UNIMPLEMENTED for
    /// anything else.
    pub fn routes(self) -> Routes {
        let path = self.schema.rpc_path().to_owned();
        let mut routes = Routes::default();
        let router = std::mem::take(routes.axum_router_mut());
        *routes.axum_router_mut() = router.route_service(&path, RpcRoute(self));
        routes
    }

    /// Decodes, stores (at the edge or in the outbox) and acknowledges one
    /// event (the RPC body).
    pub async fn accept(&self, message: Bytes) -> Result<Vec<u8>, Error> {
        if message.len() > self.max_message_bytes {
            return Err(Error::TooLarge {
                len: message.len(),
                limit: self.max_message_bytes,
            });
        }
        let event = self.schema.decode(&message)?;
        let event_sid = event.event_sid.clone();
        let appended = match &self.edge {
            Some(edge) => match edge.store(event).await? {
                Acked::Edge => None,
                Acked::Outbox(appended) => Some(appended),
            },
            None => Some(self.outbox.append(event).await?),
        };
        match appended {
            None => tracing::debug!(event_sid = %event_sid, "event stored at the edge"),
            Some(Appended::New(job)) => {
                self.metrics.queue_depth_add(1);
                tracing::debug!(event_sid = %event_sid, key = %job.ordering_key, seq = job.seq, "event stored");
            }
            Some(Appended::Duplicate) => {
                tracing::info!(event_sid = %event_sid, "event already queued; acknowledged again");
            }
        }
        self.metrics.accepted();
        Ok(self.schema.encode_ack(&event_sid))
    }
}

/// The tower service axum routes to; runs tonic's unary machinery with the
/// pass-through codec.
#[derive(Clone)]
struct RpcRoute(EventService);

impl tower::Service<http::Request<axum::body::Body>> for RpcRoute {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<axum::body::Body>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move {
            let limit = service.max_message_bytes;
            let mut grpc = Grpc::new(RawCodec).apply_max_message_size_config(Some(limit), None);
            let response = grpc.unary(Unary(service), req).await;
            Ok(oversized_is_resource_exhausted(response))
        })
    }
}

/// tonic rejects a message over the decoding limit with OUT_OF_RANGE before
/// our code runs; gRPC's convention (and Exotel's client) expects
/// RESOURCE_EXHAUSTED. Our method never returns OUT_OF_RANGE, so the code is
/// unambiguous and is rewritten here, in the trailers-only header.
fn oversized_is_resource_exhausted(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let out_of_range = (Code::OutOfRange as i32).to_string();
    let is_oversized = response
        .headers()
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == out_of_range.as_bytes());
    if is_oversized {
        let headers = response.headers_mut();
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(Code::ResourceExhausted as i32),
        );
        headers.insert(
            "grpc-message",
            http::HeaderValue::from_static("message%20exceeds%20the%20size%20limit"),
        );
        tracing::warn!("rejected an oversized event message");
    }
    response
}

struct Unary(EventService);

impl UnaryService<Bytes> for Unary {
    type Response = Vec<u8>;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<Vec<u8>>, Status>> + Send>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move {
            match service.accept(request.into_inner()).await {
                Ok(reply) => Ok(tonic::Response::new(reply)),
                Err(err) => {
                    if err.is_callers_fault() {
                        service.metrics.rejected();
                        tracing::warn!(error = %err, "rejected an event");
                    }
                    Err(err.into())
                }
            }
        })
    }
}

/// A codec that moves message bytes unchanged: decoding happens in
/// [`EventSchema`] against runtime descriptors. Public so clients (tests,
/// tools) can call the gateway with messages they encoded themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// Encoder half of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// Decoder half of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
