//! `SharedBuffer`: shared memory through encode/decode in one process, the
//! size check on receipt, read-only and sealed buffers. Every test checks
//! that it closed every fd it opened (memfds, their duplicates, pipes).

#[path = "support/mod.rs"]
mod support;

use std::os::fd::{AsFd, OwnedFd};

use courier::codec::{DecodeError, DecodeErrorKind, Encoder, decode_from_parts, encode_to_parts};
use courier::shm::{SharedBuffer, ShmError};
use support::fd_check;

/// What a peer would get: the encoded body and fds, decoded again.
fn send(buffer: &SharedBuffer) -> SharedBuffer {
    let (bytes, fds) = encode_to_parts(buffer).unwrap();
    decode_from_parts(&bytes, fds).unwrap()
}

fn receive(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<SharedBuffer, DecodeError> {
    decode_from_parts(bytes, fds)
}

fn memfd(len: u64) -> OwnedFd {
    let fd = rustix::fs::memfd_create("courier-test", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    fd
}

fn claim(size: u32) -> Vec<u8> {
    let mut bytes = vec![1];
    bytes.extend(size.to_le_bytes());
    bytes
}

#[test]
fn the_wire_is_valid_size_then_fd() {
    let check = fd_check();
    let buffer = SharedBuffer::new(300).unwrap();
    let (bytes, fds) = encode_to_parts(&buffer).unwrap();
    assert_eq!(bytes, [1, 0x2c, 0x01, 0, 0]);
    assert_eq!(fds.len(), 1);
    drop((buffer, fds));
    let (bytes, fds) = encode_to_parts(&SharedBuffer::invalid()).unwrap();
    assert_eq!(bytes, [0]);
    assert!(fds.is_empty());
    assert!(!receive(&bytes, fds).unwrap().is_valid());
    check.finish();
}

#[test]
fn both_sides_see_the_same_memory() {
    let check = fd_check();
    let mut sender = SharedBuffer::from_bytes(b"hello, world").unwrap();
    let (bytes, fds) = encode_to_parts(&sender).unwrap();
    // A write after encoding is still visible to the receiver: it is the
    // same memory, not a copy taken at encode time.
    sender.as_mut_slice().unwrap()[0] = b'j';
    let mut receiver = receive(&bytes, fds).unwrap();
    assert_eq!(receiver.len(), 12);
    assert_eq!(receiver.as_slice(), b"jello, world");
    assert!(receiver.is_writable());
    receiver.as_mut_slice().unwrap()[11] = b'D';
    assert_eq!(sender.as_slice(), b"jello, worlD");
    // Dropping one side leaves the other intact.
    drop(sender);
    assert_eq!(receiver.as_slice(), b"jello, worlD");
    drop(receiver);
    check.finish();
}

#[test]
fn clones_share_memory_too() {
    let check = fd_check();
    let mut buffer = SharedBuffer::new(8).unwrap();
    let clone = buffer.try_clone().unwrap();
    buffer.as_mut_slice().unwrap()[7] = 42;
    assert_eq!(clone.as_slice()[7], 42);
    assert!(SharedBuffer::invalid().try_clone().unwrap().fd().is_none());
    drop((buffer, clone));
    check.finish();
}

#[test]
fn empty_buffers_round_trip() {
    let check = fd_check();
    let buffer = SharedBuffer::new(0).unwrap();
    assert!(buffer.is_valid() && buffer.is_empty());
    let received = send(&buffer);
    assert!(received.is_valid() && received.is_empty());
    let invalid = SharedBuffer::default();
    assert!(!invalid.is_valid() && invalid.is_empty() && !invalid.is_writable());
    assert!(!invalid.is_sealed());
    drop((buffer, received));
    check.finish();
}

#[test]
fn sizes_past_the_wire_limit_are_refused_before_allocating() {
    let check = fd_check();
    let len = u32::MAX as usize + 1;
    assert!(matches!(SharedBuffer::new(len), Err(ShmError::TooLarge { len: l }) if l == len));
    check.finish();
}

#[test]
fn a_claimed_size_larger_than_the_file_is_refused() {
    let check = fd_check();
    // Refused whichever way the receiver would take the file: a sealable
    // memfd it would map, an unsealable one it would copy.
    let sealable = || {
        let fd = rustix::fs::memfd_create(
            "courier-test",
            rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
        )
        .unwrap();
        rustix::fs::ftruncate(&fd, 100).unwrap();
        fd
    };
    for (how, fd) in [("copied", memfd(100)), ("mapped", sealable())] {
        let error = receive(&claim(4096), vec![fd]).unwrap_err();
        assert_eq!(
            error.kind(),
            &DecodeErrorKind::SharedBufferTooSmall {
                claimed: 4096,
                actual: 100
            },
            "{how}"
        );
        assert_eq!(
            error.to_string(),
            "shared buffer claims 4096 bytes but its memory file holds only 100; the sender is \
             broken or hostile: it must size the memory file to at least the size it sends and \
             never shrink it (courier's SharedBuffer::new does both)"
        );
    }
    // One byte short is too short.
    let error = receive(&claim(101), vec![memfd(100)]).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::SharedBufferTooSmall {
            claimed: 101,
            actual: 100
        }
    );
    // A claim up to the real size is fine.
    assert_eq!(receive(&claim(100), vec![memfd(100)]).unwrap().len(), 100);
    assert_eq!(receive(&claim(10), vec![memfd(100)]).unwrap().len(), 10);
    assert_eq!(receive(&claim(100), vec![sealable()]).unwrap().len(), 100);
    check.finish();
}

#[test]
fn an_fd_that_is_not_a_file_is_refused() {
    let check = fd_check();
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let error = receive(&claim(1), vec![reader]).unwrap_err();
    match error.kind() {
        DecodeErrorKind::Invalid(message) => {
            assert!(message.contains("not a memory file"), "{message}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    drop(writer);
    check.finish();
}

#[test]
fn malformed_headers_name_their_field() {
    let check = fd_check();
    let error = receive(&claim(4), Vec::new()).unwrap_err();
    assert_eq!(error.kind(), &DecodeErrorKind::MissingFd);
    assert_eq!(error.path().collect::<Vec<_>>(), ["fd"]);
    let error = receive(&[2], Vec::new()).unwrap_err();
    assert_eq!(error.kind(), &DecodeErrorKind::InvalidBool(2));
    assert_eq!(error.path().collect::<Vec<_>>(), ["valid"]);
    let error = receive(&[1, 0, 0], vec![memfd(1)]).unwrap_err();
    assert!(matches!(
        error.kind(),
        DecodeErrorKind::Truncated {
            needed: 4,
            available: 2
        }
    ));
    assert_eq!(error.path().collect::<Vec<_>>(), ["size"]);
    drop(error);
    check.finish();
}

#[test]
fn sealed_buffers_arrive_read_only_and_sealed() {
    let check = fd_check();
    let mut buffer = SharedBuffer::from_bytes(b"final").unwrap();
    assert!(!buffer.is_sealed());
    buffer.seal_read_only().unwrap();
    assert!(buffer.is_sealed());
    assert!(!buffer.is_writable());
    assert!(buffer.as_mut_slice().is_none());
    assert_eq!(buffer.as_slice(), b"final");
    // Sealing twice is fine.
    buffer.seal_read_only().unwrap();

    let mut received = send(&buffer);
    assert!(received.is_sealed());
    assert!(!received.is_writable());
    assert!(received.as_mut_slice().is_none());
    assert_eq!(received.as_slice(), b"final");
    // The kernel enforces it, not just our mapping: the file cannot shrink.
    assert!(rustix::fs::ftruncate(received.fd().unwrap(), 1).is_err());
    drop((buffer, received));
    check.finish();
}

#[test]
fn sealing_is_refused_while_another_writable_mapping_exists() {
    let check = fd_check();
    let mut buffer = SharedBuffer::from_bytes(b"shared").unwrap();
    let received = send(&buffer);
    assert!(received.is_writable());
    let error = buffer.seal_read_only().unwrap_err();
    assert!(matches!(error, ShmError::Seal { .. }), "{error}");
    // Nothing changed: still writable, same contents, same memory.
    assert!(buffer.is_writable() && !buffer.is_sealed());
    buffer.as_mut_slice().unwrap()[0] = b'S';
    assert_eq!(received.as_slice(), b"Shared");
    // Once the other mapping is gone, sealing works.
    drop(received);
    buffer.seal_read_only().unwrap();
    assert!(buffer.is_sealed());
    drop(buffer);
    check.finish();
}

#[test]
fn invalid_buffers_cannot_be_sealed() {
    let check = fd_check();
    assert!(matches!(
        SharedBuffer::invalid().seal_read_only(),
        Err(ShmError::Invalid)
    ));
    check.finish();
}

#[test]
fn read_only_fds_are_mapped_read_only() {
    let check = fd_check();
    let buffer = SharedBuffer::from_bytes(b"look, don't touch").unwrap();
    // Reopen the memory file read-only, as a peer could send it.
    let path = format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&buffer.fd().unwrap())
    );
    let read_only = OwnedFd::from(std::fs::File::open(path).unwrap());
    let mut encoder = Encoder::new();
    encoder.put_bytes(&claim(buffer.len() as u32));
    encoder.put_owned_fd(read_only);
    let (bytes, fds) = encoder.into_parts();
    let mut received = receive(&bytes, fds).unwrap();
    assert!(!received.is_writable());
    assert!(received.as_mut_slice().is_none());
    assert_eq!(received.as_slice(), b"look, don't touch");
    assert!(!received.is_sealed());
    drop((buffer, received));
    check.finish();
}

#[test]
fn the_memory_file_is_close_on_exec_and_sealable() {
    let check = fd_check();
    let buffer = SharedBuffer::new(16).unwrap();
    let fd = buffer.fd().unwrap();
    assert!(
        rustix::io::fcntl_getfd(fd)
            .unwrap()
            .contains(rustix::io::FdFlags::CLOEXEC)
    );
    assert!(rustix::fs::fcntl_get_seals(fd.as_fd()).is_ok());
    drop(buffer);
    check.finish();
}
