//! Local stand-ins for the outside world, shared by the integration tests and the local demo:
//! a moto server (the AWS emulator, real wire protocols) and a stateful fake of the Tooken API.
//! Also the generator of the Function URL request payloads in `events/`.
//!
//! Nothing here is used by the function itself; it lives in the library so that the tests, the
//! demo and later tools start the same components the same way.

pub mod events;
pub mod fake_tooken;
pub mod local_aws;
pub mod moto;

pub use fake_tooken::FakeTooken;
pub use local_aws::{LocalAws, ServiceView};
pub use moto::Moto;

/// `len` random ASCII letters and digits, for generated secrets and ids.
pub fn random_alphanumeric(len: usize) -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
