//! Codec rows, in one process: encode and decode of one message (a string,
//! 1 M `u32`, a map of 1000 entries) with courier, bincode 1 and postcard,
//! against copying the vector's bytes twice (`memcpy`: out into a fresh
//! buffer and back into a fresh vector).

use std::collections::HashMap;
use std::hint::black_box;
use std::io;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::report::Samples;

/// The message: one struct with both courier's and serde's derives.
#[derive(Debug, PartialEq, courier::Encode, courier::Decode, Serialize, Deserialize)]
pub struct Message {
    /// A short string.
    pub name: String,
    /// 1 M elements.
    pub values: Vec<u32>,
    /// 1000 entries.
    pub map: HashMap<String, u64>,
}

/// Only the vector, to see primitives alone.
#[derive(Debug, PartialEq, courier::Encode, courier::Decode, Serialize, Deserialize)]
pub struct Vector {
    /// 1 M elements.
    pub values: Vec<u32>,
}

/// The message of the codec rows.
pub fn message() -> Message {
    Message {
        name: "courier-bench codec message".to_string(),
        values: (0..1_000_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect(),
        map: (0..1000u64).map(|i| (format!("key-{i}"), i * 7)).collect(),
    }
}

/// The vector alone.
pub fn vector() -> Vector {
    Vector {
        values: message().values,
    }
}

/// The systems of the codec rows, reference first.
pub const SYSTEMS: [&str; 4] = ["memcpy", "courier", "bincode", "postcard"];

fn err(system: &str, error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{system}: {error}"))
}

/// Bytes of `value` as courier encodes it: the size the MB/s are counted
/// on, for every system.
pub fn courier_len<T: courier::Encode>(value: &T) -> io::Result<usize> {
    let (bytes, _) = courier::codec::encode_to_parts(value).map_err(|e| err("courier", e))?;
    Ok(bytes.len())
}

/// `runs` encode+decode round trips of `value` with `system`; one sample each.
pub fn run<T>(system: &str, value: &T, raw: &[u32], runs: usize) -> io::Result<Samples>
where
    T: courier::Encode + courier::Decode + Serialize + for<'de> Deserialize<'de> + PartialEq,
{
    let mut samples = Samples::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let (elapsed, ok) = match system {
            "memcpy" => {
                // Two plain copies of the vector's bytes: out into a fresh
                // byte buffer, back into a fresh vector.
                let out = bytemuck::cast_slice::<u32, u8>(raw).to_vec();
                let mut back = vec![0u32; raw.len()];
                bytemuck::cast_slice_mut::<u32, u8>(&mut back).copy_from_slice(black_box(&out));
                let elapsed = start.elapsed();
                (elapsed, black_box(back) == raw)
            }
            "courier" => {
                let (bytes, fds) =
                    courier::codec::encode_to_parts(value).map_err(|e| err(system, e))?;
                let back: T = courier::codec::decode_from_parts(black_box(&bytes), fds)
                    .map_err(|e| err(system, e))?;
                let elapsed = start.elapsed();
                (elapsed, black_box(&back) == value)
            }
            "bincode" => {
                let bytes = bincode::serialize(value).map_err(|e| err(system, e))?;
                let back: T =
                    bincode::deserialize(black_box(&bytes)).map_err(|e| err(system, e))?;
                let elapsed = start.elapsed();
                (elapsed, black_box(&back) == value)
            }
            "postcard" => {
                let bytes = postcard::to_stdvec(value).map_err(|e| err(system, e))?;
                let back: T =
                    postcard::from_bytes(black_box(&bytes)).map_err(|e| err(system, e))?;
                let elapsed = start.elapsed();
                (elapsed, black_box(&back) == value)
            }
            other => return Err(io::Error::other(format!("no codec named {other}"))),
        };
        samples.push(elapsed);
        if !ok {
            return Err(io::Error::other(format!(
                "{system}: the decoded value differs from the encoded one"
            )));
        }
    }
    Ok(samples)
}
