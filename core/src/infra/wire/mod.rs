//! The operation registry: every operation is a typed handler registered once
//! under a versioned method string and reached only through
//! [`Core::execute_json_operation`](crate::Core::execute_json_operation).

mod access;
mod bytes;
mod caller;
mod method;
mod progress;
mod registry;

pub use access::{Audience, Effect};
pub use bytes::{decode_base64, text_or_base64};
pub use caller::Caller;
pub use method::{MethodKind, parse_method};
pub use progress::{Progress, ProgressSink};
pub use registry::{
    Answer, Form, MAX_PAYLOAD_BYTES, OpContext, Operation, OperationEntry, OperationInfo, Payload, Scope, find,
    operations, parse_payload,
};
